package trust

import (
	"fmt"
	"testing"
	"time"
)

// Token ids are refused while they could still be valid, then forgotten:
// the replay cache holds the last few minutes of tokens, not all of them.
func TestRememberForgetsExpiredIDs(t *testing.T) {
	a := NewAuthenticator(nil, "gw", nil)
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range 100_000 { // 100 a second for 1,000 seconds, each valid 5 minutes
		now := start.Add(time.Duration(i) * 10 * time.Millisecond)
		id := fmt.Sprint("j", i)
		if !a.remember(id, now.Add(MaxTokenTTL), now) {
			t.Fatalf("%s refused on first use", id)
		}
		if a.remember(id, now.Add(MaxTokenTTL), now.Add(time.Minute)) {
			t.Fatalf("%s replayed a minute later was accepted", id)
		}
	}
	if n := a.remembered(); n > 30_100 {
		t.Fatalf("%d ids held, want at most five minutes' worth (30,000)", n)
	}
	later := start.Add(time.Hour)
	if !a.remember("j99999", later.Add(MaxTokenTTL), later) {
		t.Fatal("an id long expired is still refused")
	}
}

func BenchmarkRemember(b *testing.B) {
	a := NewAuthenticator(nil, "gw", nil)
	now := time.Now()
	i := 0
	for b.Loop() {
		now = now.Add(100 * time.Microsecond) // 10,000 tokens/s
		a.remember(fmt.Sprint(i), now.Add(MaxTokenTTL), now)
		i++
	}
}
