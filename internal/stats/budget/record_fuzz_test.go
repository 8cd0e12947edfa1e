package budget

import (
	"encoding/json"
	"errors"
	"testing"
)

// Whatever is written on the budget topic, the decoder either returns a
// spend that Spend itself would have accepted for writing, or a reason and
// an error; it never panics, and what it returns survives a round trip.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":"d1","requester":"drees","rule":"tax.income.mean","period":"2026","eps_micro":500000,"budget_micro":10000000,"at":"2026-01-05T10:00:00Z"}`))
	f.Add([]byte(`{"v":2,"id":"d1","requester":"drees","rule":"r","period":"2026","eps_micro":1,"budget_micro":1}`))
	f.Add([]byte(`{"v":1,"id":"d1","requester":"drees","rule":"r","period":"2026","eps_micro":-1,"budget_micro":1}`))
	f.Add([]byte(`{"v":1,"id":"d1","requester":"drees","rule":"r","period":"2026","eps_micro":18446744073709551616,"budget_micro":1}`))
	f.Add([]byte(`{"v":1,"id":"","requester":"","rule":"","period":"","eps_micro":0,"budget_micro":0}`))
	f.Add([]byte(`{"v":1,"at":"yesterday"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, reason, err := decodeRecord(b)
		if err != nil {
			switch reason {
			case skipUnreadable, skipVersion, skipInvalid:
			default:
				t.Fatalf("error %v with reason %q, not one of the counted reasons", err, reason)
			}
			if reason == skipInvalid && !errors.Is(err, ErrInvalid) {
				t.Fatalf("invalid record's error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if reason != "" {
			t.Fatalf("accepted with reason %q", reason)
		}
		if err := rec.spend().validate(); err != nil {
			t.Fatalf("accepted a record Spend would not write: %v", err)
		}
		again, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		rec2, _, err := decodeRecord(again)
		if err != nil || rec2.spend() != rec.spend() || !rec2.At.Equal(rec.At) {
			t.Fatalf("round trip changed the record: %+v → %+v (%v)", rec, rec2, err)
		}
	})
}
