package audit

import (
	"testing"
	"time"
)

// FuzzSummary: the citizen index's summaries decode what they encoded, and
// any bytes a damaged file holds decode to an error, never a panic.
func FuzzSummary(f *testing.F) {
	f.Add(int64(1764576000000000000), "view", "allow", "cnaf", "housing-aid-eligibility", []byte{})
	f.Add(int64(0), "", "", "", "", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, nanos int64, kind, decision, requester, purpose string, junk []byte) {
		e := Entry{Index: 7, Event: Event{Time: time.Unix(0, nanos), Kind: kind, Decision: decision, Requester: requester, Purpose: purpose}}
		got, ok := unsummarize("c", 7, summarize(&e))
		if !ok || !got.Time.Equal(e.Time) || got.Kind != kind || got.Decision != decision || got.Requester != requester || got.Purpose != purpose {
			t.Fatalf("round trip: %+v, want %+v", got, e)
		}
		unsummarize("c", 7, junk)
	})
}
