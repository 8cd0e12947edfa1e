package policy

import (
	"encoding/json"
	"fmt"
	"time"
)

// Consent statuses (ISO/IEC TS 27560 and the Account Aggregator artefact
// name these states).
const (
	ConsentActive  = "ACTIVE"
	ConsentPaused  = "PAUSED"
	ConsentRevoked = "REVOKED"
	ConsentExpired = "EXPIRED"
	// States a consent is in at a time without its status saying so: all
	// its uses made (in its period, for a periodic one), or not yet begun.
	ConsentExhausted = "EXHAUSTED"
	ConsentPending   = "PENDING"
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
	MaxUses int `json:"max_uses"`
	// Period is written in whole seconds, as period_seconds.
	Period time.Duration `json:"-"`
	Status string        `json:"status"`
	// Version counts the consent's changes: 1 when given, one more at
	// each change. State built from the consent log only moves to a
	// higher version, so a replayed earlier event changes nothing.
	Version int64 `json:"version"`

	fields FieldSet
}

// MaxPeriod bounds a periodic consent's period: ten years, far past any
// consent's life, and far from where seconds overflow a time.Duration.
const MaxPeriod = 10 * 365 * 24 * time.Hour

type consentJSON Consent

type consentWire struct {
	*consentJSON
	PeriodSeconds int64 `json:"period_seconds"`
}

// MarshalJSON writes Period in seconds.
func (c Consent) MarshalJSON() ([]byte, error) {
	return json.Marshal(consentWire{consentJSON: (*consentJSON)(&c), PeriodSeconds: int64(c.Period / time.Second)})
}

// UnmarshalJSON reads period_seconds, refusing one beyond MaxPeriod.
func (c *Consent) UnmarshalJSON(b []byte) error {
	w := consentWire{consentJSON: (*consentJSON)(c)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.PeriodSeconds < 0 || w.PeriodSeconds > int64(MaxPeriod/time.Second) {
		return fmt.Errorf("period_seconds %d: want 0 to %d", w.PeriodSeconds, int64(MaxPeriod/time.Second))
	}
	c.Period = time.Duration(w.PeriodSeconds) * time.Second
	return nil
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
// StateAt is the consent's state at t with uses made of it (in its
// period): its status, or EXPIRED, EXHAUSTED or PENDING when time and use
// have changed what it allows.
func (c *Consent) StateAt(t time.Time, uses int) string {
	switch c.refusal(t, uses) {
	case CodeConsentExpired:
		return ConsentExpired
	case CodeConsentOverused:
		return ConsentExhausted
	}
	if c.Status == ConsentActive && t.Before(c.Start) {
		return ConsentPending
	}
	return c.Status
}

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

// FieldSet is the consent's fields, once prepared.
func (c *Consent) FieldSet() FieldSet { return c.fields }
