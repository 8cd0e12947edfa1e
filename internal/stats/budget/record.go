package budget

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// recordVersion is the "v" of the records this package writes and reads.
const recordVersion = 1

// record is a spend as written on the topic, keyed by requester.
type record struct {
	V           int       `json:"v"`
	ID          string    `json:"id"`
	Requester   string    `json:"requester"`
	Rule        string    `json:"rule"`
	Period      string    `json:"period"`
	EpsMicro    uint64    `json:"eps_micro"`
	BudgetMicro uint64    `json:"budget_micro"`
	At          time.Time `json:"at"`
}

// Reasons a record is skipped, the label values of Stats.Skipped.
const (
	skipUnreadable = "unreadable" // not JSON of a record
	skipVersion    = "version"    // a record version this code does not know
	skipInvalid    = "invalid"    // a field missing or zero
)

// decodeRecord parses one record and checks it as Spend checks what it
// writes; reason says why a record is refused.
func decodeRecord(b []byte) (rec record, reason string, err error) {
	if err := json.Unmarshal(b, &rec); err != nil {
		return record{}, skipUnreadable, fmt.Errorf("decode spend: %w", err)
	}
	if rec.V != recordVersion {
		return record{}, skipVersion, fmt.Errorf("decode spend: record version %d, want %d", rec.V, recordVersion)
	}
	if err := rec.spend().validate(); err != nil {
		return record{}, skipInvalid, fmt.Errorf("decode spend: %w", err)
	}
	return rec, "", nil
}

func (r record) spend() Spend {
	return Spend{ID: r.ID, Requester: r.Requester, Rule: r.Rule, Period: r.Period, EpsMicro: r.EpsMicro, BudgetMicro: r.BudgetMicro}
}

// validate names every field that is missing, wrapping ErrInvalid.
func (s Spend) validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"id", s.ID}, {"requester", s.Requester}, {"rule", s.Rule}, {"period", s.Period}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s: required", f.name))
		}
	}
	if s.EpsMicro == 0 {
		errs = append(errs, errors.New("eps_micro: must be positive"))
	}
	if s.BudgetMicro == 0 {
		errs = append(errs, errors.New("budget_micro: must be positive"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}
