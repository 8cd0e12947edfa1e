package policy

import (
	"math/bits"
	"time"
)

// Outcome of a decision.
type Outcome uint8

// Outcomes.
const (
	Deny Outcome = iota
	Allow
	Partial
)

func (o Outcome) String() string {
	return [...]string{"deny", "allow", "partial"}[o]
}

// Stable codes of refusals, in decisions and problem documents.
const (
	CodeNoRule           = "no-rule"
	CodeUnknownPurpose   = "unknown-purpose"
	CodeCeilingFields    = "purpose-ceiling-fields"
	CodeCeilingFrequency = "purpose-ceiling-frequency"
	CodeFieldNotAllowed  = "field-not-allowed"
	CodeConsentMissing   = "consent-missing"
	CodeConsentExpired   = "consent-expired"
	CodeConsentRevoked   = "consent-revoked"
	CodeConsentPaused    = "consent-paused"
	CodeConsentOverused  = "consent-overused"
	CodeNothingRequested = "no-field-requested"
)

// Request is what a decision is about.
type Request struct {
	Requester string
	Purpose   string
	Fields    FieldSet
	Time      time.Time
	// Consent is the citizen's consent for (requester, purpose), if any,
	// and ConsentUses the uses already made of it in its period.
	Consent     *Consent
	ConsentUses int
	// RecentAccesses by this requester to this citizen within the
	// purpose's window.
	RecentAccesses int
}

// Decision says what may be released and why.
type Decision struct {
	Outcome Outcome
	// Code is why the request was denied ("" unless Outcome is Deny).
	Code          string
	Rule          *Rule
	PolicyVersion string
	Granted       FieldSet
	// ConsentUsed: some granted field needed the consent, so the release
	// is a use of it.
	ConsentUsed bool
	// Withheld holds, for each requested field not granted, its reason.
	withheld [MaxFields]string
}

// Withheld returns the reason a field was withheld, or "".
func (d *Decision) Withheld(f Field) string { return d.withheld[f] }

// WithheldSet is every withheld field.
func (d *Decision) WithheldSet() FieldSet {
	var s FieldSet
	for i, r := range d.withheld {
		if r != "" {
			s.Add(Field(i))
		}
	}
	return s
}

// Decide is the policy: a pure function of the rule set and the request
// (which carries the consent state). It does not allocate.
func (rs *RuleSet) Decide(req *Request, d *Decision) {
	*d = Decision{PolicyVersion: rs.Version}
	if req.Fields.Empty() {
		d.Code = CodeNothingRequested
		return
	}
	p, ok := rs.purposes[req.Purpose]
	if !ok {
		d.Code = CodeUnknownPurpose
		return
	}
	var rule *Rule
	for _, r := range rs.index[pair{req.Requester, req.Purpose}] {
		if r.activeAt(req.Time) {
			rule = r
			break
		}
	}
	if rule == nil {
		d.Code = CodeNoRule
		return
	}
	d.Rule = rule
	if p.MaxFields > 0 && req.Fields.Len() > p.MaxFields {
		d.Code = CodeCeilingFields
		return
	}
	if p.MaxPerCitizen > 0 && req.RecentAccesses >= p.MaxPerCitizen {
		d.Code = CodeCeilingFrequency
		return
	}

	allowed := req.Fields.And(rule.fields)
	d.withhold(req.Fields.Minus(rule.fields), CodeFieldNotAllowed)
	granted := allowed
	if needs := consentNeeded(rule, allowed); !needs.Empty() {
		reason := CodeConsentMissing
		var covered FieldSet
		if c := req.Consent; c != nil && c.Requester == req.Requester && c.Purpose == req.Purpose {
			reason = c.refusal(req.Time, req.ConsentUses)
			if reason == "" {
				covered = c.fields
				reason = CodeConsentMissing // for fields the consent does not cover
			}
		}
		d.withhold(needs.Minus(covered), reason)
		granted = allowed.Minus(needs.Minus(covered))
		d.ConsentUsed = !needs.And(covered).Empty()
	}
	d.Granted = granted
	switch {
	case granted.Empty():
		d.Outcome, d.Code = Deny, d.firstReason()
	case granted == req.Fields:
		d.Outcome = Allow
	default:
		d.Outcome = Partial
	}
}

// ConsentUsable reports whether a consent by requester for purpose on
// fields could ever change a decision: some rule for them, whenever in
// force, releases one of the fields only with the citizen's consent.
func (rs *RuleSet) ConsentUsable(requester, purpose string, fields FieldSet) bool {
	for _, r := range rs.index[pair{requester, purpose}] {
		if !consentNeeded(r, r.fields).And(fields).Empty() {
			return true
		}
	}
	return false
}

// consentNeeded returns the allowed fields whose release needs consent.
func consentNeeded(r *Rule, allowed FieldSet) FieldSet {
	if r.ConsentRequired {
		return allowed
	}
	if r.HealthException == "" {
		return allowed.And(SpecialCategory())
	}
	return FieldSet{}
}

func (d *Decision) firstReason() string {
	for _, r := range d.withheld {
		if r != "" {
			return r
		}
	}
	return CodeFieldNotAllowed
}

// withhold gives every field of s the reason.
func (d *Decision) withhold(s FieldSet, reason string) {
	for w, v := range s {
		for ; v != 0; v &= v - 1 {
			d.withheld[w*64+bits.TrailingZeros64(v)] = reason
		}
	}
}
