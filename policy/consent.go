package policy

import "time"

// Consent statuses (ISO/IEC TS 27560 and the Account Aggregator artefact
// name these states).
const (
	ConsentActive  = "ACTIVE"
	ConsentPaused  = "PAUSED"
	ConsentRevoked = "REVOKED"
	ConsentExpired = "EXPIRED"
)

// Access modes of a consent.
const (
	ModeOneTime  = "one-time"
	ModePeriodic = "periodic"
)

// Consent is what a citizen agreed to: which requester may read which
// fields for which purpose, from when to when, how often.
type Consent struct {
	ID        string    `json:"id"`
	Citizen   string    `json:"citizen"` // audit pseudonym, never the NIR
	Requester string    `json:"requester"`
	Purpose   string    `json:"purpose"`
	Fields    []string  `json:"fields"`
	Start     time.Time `json:"start"`
	Expiry    time.Time `json:"expiry"`
	Mode      string    `json:"mode"`
	// MaxUses per Period (periodic), or 1 (one-time).
	MaxUses int           `json:"max_uses"`
	Period  time.Duration `json:"period_seconds"`
	Status  string        `json:"status"`

	fields FieldSet
}

// Prepare parses the consent's fields; a consent is used in decisions only
// once prepared.
func (c *Consent) Prepare() error {
	s, err := ParseFields(c.Fields)
	c.fields = s
	return err
}

// refusal returns why the consent does not allow a use at t with uses
// already made in its period, or "" if it does.
func (c *Consent) refusal(t time.Time, uses int) string {
	switch {
	case c.Status == ConsentRevoked:
		return CodeConsentRevoked
	case c.Status == ConsentPaused:
		return CodeConsentPaused
	case c.Status == ConsentExpired, !t.Before(c.Expiry):
		return CodeConsentExpired
	case t.Before(c.Start): // not yet in force: there is no consent now
		return CodeConsentMissing
	case c.Status != ConsentActive:
		return CodeConsentMissing
	case c.MaxUses > 0 && uses >= c.MaxUses:
		return CodeConsentOverused
	}
	return ""
}
