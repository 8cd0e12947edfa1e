package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/policy"
)

// A (requester, purpose, citizen) never asked for again does not keep its
// accesses: Add sweeps every key once in a while.
func TestUsageForgetsKeysNeverAskedAgain(t *testing.T) {
	rules, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := rules.Purpose("housing-aid-eligibility")
	u := NewUsage(rules, nil)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range sweepEvery - 1 {
		u.Add("cnaf", p.ID, fmt.Sprintf("citizen-%d", i), start, fmt.Sprintf("ev-%d", i))
	}
	later := start.Add(p.Window + time.Hour)
	u.Add("cnaf", p.ID, "citizen-last", later, "ev-last")
	if len(u.seen) != 1 {
		t.Fatalf("%d keys held after the sweep, want the one still in its window", len(u.seen))
	}
	if n, err := u.Count("cnaf", p.ID, "citizen-last", later); n != 1 || err != nil {
		t.Fatalf("count %d, %v", n, err)
	}
	u.Add("cnaf", "no-such-purpose", "citizen-last", later, "ev-x")
	if len(u.seen) != 1 {
		t.Fatal("an access no ceiling counts was kept")
	}
}
