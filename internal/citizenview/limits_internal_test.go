package citizenview

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// limitsOnALog returns limits counting from a trail that has read an
// audit topic of one event (offset 0).
func limitsOnALog(t *testing.T) *Limits {
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	w := trusttest.New(t, []trust.MemberSpec{{ID: "gw", Name: "Gateway", Roles: []string{"gateway"}}})
	topic := bustest.Topic(t, client, 1)
	aw := audit.NewWriter(client, nil)
	log, err := audit.NewLog(aw, seal.NewSealer(w.Signer(t, "gw")), audit.LogOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	go log.Run(context.Background()) // Close stops it
	t.Cleanup(func() { log.Close(); aw.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := log.Append(ctx, audit.Event{ID: "e0", Time: time.Now(), Kind: audit.KindView, Decision: "deny"}); err != nil {
		t.Fatal(err)
	}
	trail := audit.NewTrail(w.Store(t), audit.TrailOptions{Topic: topic, KeepEvents: true})
	bustest.Follow(t, ctx, func(ctx context.Context) { trail.Follow(ctx, client, nil) })
	select {
	case <-trail.Ready():
	case <-time.After(time.Minute):
		t.Fatal("the trail never caught up")
	}
	return NewLimits(trail)
}

func none() (int, error) { return 0, nil }

// A hold counts from the moment it is taken until the trail has read its
// event; one given back counts no more, and takes no other with it.
func TestHoldsCountUntilReadOrGivenBack(t *testing.T) {
	l := limitsOnALog(t)
	now := time.Now()
	count := func(key string) int {
		lk, err := l.Lock("citizen")
		if err != nil {
			t.Fatal(err)
		}
		defer lk.Unlock()
		n, _ := lk.Count(key, now.Add(-time.Hour), none)
		return n
	}
	lk, _ := l.Lock("citizen")
	a := lk.Hold(now, "k1", "k2")
	b := lk.Hold(now, "k1")
	lk.Unlock()
	if count("k1") != 2 || count("k2") != 1 {
		t.Fatalf("held: k1 %d, k2 %d", count("k1"), count("k2"))
	}
	a.Release()
	if count("k1") != 1 || count("k2") != 0 {
		t.Fatalf("after giving one back: k1 %d, k2 %d", count("k1"), count("k2"))
	}
	// Written at offset 1, not read yet (the trail is at 1): still
	// counted; at offset 0, read: counted by the trail, not here.
	b.Written(1)
	if count("k1") != 1 {
		t.Fatalf("written, unread: %d", count("k1"))
	}
	b.Written(0)
	if count("k1") != 0 {
		t.Fatalf("written and read: %d", count("k1"))
	}
	// A hold older than the window does not count.
	lk, _ = l.Lock("citizen")
	lk.Hold(now.Add(-2*time.Hour), "k3")
	lk.Unlock()
	if count("k3") != 0 {
		t.Fatal("a hold out of the window counted")
	}
	var nilHold *Hold
	nilHold.Written(3) // a request that held nothing
	nilHold.Release()
}

// Keys never asked for again do not keep their holds: every sweepEvery
// holds, a stripe forgets the holds its trail has read.
func TestHoldsAreSwept(t *testing.T) {
	l := limitsOnALog(t)
	s := &l.stripes[0]
	k := &Locked{l: l, s: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range sweepEvery - 1 {
		h := k.Hold(time.Now(), fmt.Sprint("key-", i))
		h.offset = 0 // the trail has read it
	}
	if len(s.holds) != sweepEvery-1 {
		t.Fatalf("%d keys held before the sweep", len(s.holds))
	}
	k.Hold(time.Now(), "last") // the sweepEvery-th: the sweep
	if len(s.holds) != 1 {
		t.Fatalf("%d keys held after the sweep, want the one in flight", len(s.holds))
	}
}
