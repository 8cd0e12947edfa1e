package policy

import (
	"encoding/json"
	"errors"
	"time"
)

// Errors of loading and of requests.
var (
	// ErrInvalidRules: a rule or purpose file does not validate; the
	// message names the file and the field.
	ErrInvalidRules = errors.New("invalid policy")
	// ErrUnknownField: a field name the view does not have.
	ErrUnknownField = errors.New("unknown field")
	// ErrUnknownPurpose: a purpose not in the register.
	ErrUnknownPurpose = errors.New("unknown purpose")
)

// Legal bases, as the W3C Data Privacy Vocabulary (DPV) names them. For a
// public authority consent is rarely the ground (GDPR recital 43): every
// rule names its basis and its legal text.
const (
	BasisLegalObligation = "legal-obligation"
	BasisPublicTask      = "public-task"
	BasisConsent         = "consent"
	BasisVitalInterest   = "vital-interest"
)

// Purpose is an entry of the register with its fair-use ceilings, in the
// manner of the Account Aggregator's templates: a request beyond them is
// refused, whatever the rule.
type Purpose struct {
	ID          string `yaml:"id" json:"id"`
	Description string `yaml:"description" json:"description"`
	// MaxFields is the most fields one request may ask for.
	MaxFields int `yaml:"max_fields" json:"max_fields"`
	// MaxAge is how far back data may be released: a record whose event
	// time is older is withheld.
	MaxAge time.Duration `yaml:"max_age" json:"-"`
	// MaxPerCitizen accesses per Window for one citizen and requester.
	MaxPerCitizen int           `yaml:"max_per_citizen" json:"max_per_citizen"`
	Window        time.Duration `yaml:"window" json:"-"`
}

// MarshalJSON publishes durations in seconds, which every reader of the
// register understands.
func (p *Purpose) MarshalJSON() ([]byte, error) {
	type plain Purpose
	return json.Marshal(struct {
		*plain
		MaxAgeSeconds int64 `json:"max_age_seconds"`
		WindowSeconds int64 `json:"window_seconds"`
	}{(*plain)(p), int64(p.MaxAge.Seconds()), int64(p.Window.Seconds())})
}

// Rule is one exchange the register allows.
type Rule struct {
	ID             string `yaml:"id" json:"id"`
	Requester      string `yaml:"requester" json:"requester"`
	Purpose        string `yaml:"purpose" json:"purpose"`
	LegalBasis     string `yaml:"legal_basis" json:"legal_basis"`
	LegalReference string `yaml:"legal_reference" json:"legal_reference"`
	// Fields the rule releases, "<domain>.<field>" or "<domain>.*".
	Fields []string `yaml:"fields" json:"fields"`
	// ConsentRequired: the citizen's consent is needed on top of the
	// legal basis.
	ConsentRequired bool `yaml:"consent_required" json:"consent_required"`
	// HealthException names the explicit legal exception (GDPR art. 9(2))
	// under which health fields are released without consent.
	HealthException string    `yaml:"health_exception,omitempty" json:"health_exception,omitempty"`
	ValidFrom       time.Time `yaml:"valid_from" json:"valid_from"`
	ValidUntil      time.Time `yaml:"valid_until,omitempty" json:"valid_until,omitzero"`
	// Releases says, for each field the rule names, what its release
	// needs: computed from the rule and the field's class, published so
	// that the register says what the decision will do.
	Releases []Release `yaml:"-" json:"releases"`

	fields FieldSet
	file   string
}

// Release is what releasing one field under a rule needs.
type Release struct {
	Field string `json:"field"`
	Class string `json:"class"`
	// Needs is NeedsLegalBasis, NeedsConsent or NeedsLegalException.
	Needs string `json:"needs"`
}

// What a release needs, besides the rule's legal basis and purpose.
const (
	// NeedsLegalBasis: the rule's legal basis is enough.
	NeedsLegalBasis = "legal-basis"
	// NeedsConsent: the citizen's consent, in force and with uses left.
	NeedsConsent = "consent"
	// NeedsLegalException: a special-category field, released under the
	// exception the rule names (health_exception).
	NeedsLegalException = "legal-exception"
)

// releases lists what each of the rule's fields needs; the decision
// (consentNeeded) applies the same reasoning.
func (r *Rule) releases() []Release {
	var out []Release
	special := SpecialCategory()
	for _, f := range r.fields.Fields() {
		needs := NeedsLegalBasis
		switch {
		case r.ConsentRequired:
			needs = NeedsConsent
		case special.Has(f) && r.HealthException == "":
			needs = NeedsConsent
		case special.Has(f):
			needs = NeedsLegalException
		}
		out = append(out, Release{Field: f.String(), Class: f.Class(), Needs: needs})
	}
	return out
}

// Validity of a rule at t.
func (r *Rule) activeAt(t time.Time) bool {
	return within(t, r.ValidFrom, r.ValidUntil)
}
