package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// The log settles claims in its own order, the same for every reader, a
// disk index reopened included: the first events to claim a limit's uses
// get them; a token is used once; a void voids its event from its place
// on, before the event has even landed; a retry's copy claims nothing.
func TestClaimsSettleInLogOrder(t *testing.T) {
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	world := trusttest.New(t, members)
	store := world.Store(t)
	topic := bustest.Topic(t, client, 1)
	gw := startGateway(t, ctx, client, world.Signer(t, "gw"), store, topic, audit.TrailOptions{KeepEvents: true})

	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	view := func(id, citizen, token string, c *audit.Ceiling, k *audit.ConsentClaim) audit.Event {
		return audit.Event{ID: id, Time: at, Kind: audit.KindView, Requester: "cnaf", Purpose: "benefits", Citizen: citizen,
			Decision: "allow", Released: []string{"tax.income"}, Token: token, TokenExpiry: at.Add(time.Minute).Unix(), Ceiling: c, Consent: k}
	}
	ceiling := &audit.Ceiling{Max: 2, WindowSeconds: 3600}
	once := &audit.ConsentClaim{ID: "cst-1", MaxUses: 1}
	script := []struct {
		ev   audit.Event
		void string
	}{
		{view("a1", "alice", "t1", ceiling, nil), ""},
		{view("a2", "alice", "t2", ceiling, nil), audit.VoidUnavailable}, // voided by v2 below
		{view("a3", "alice", "t3", ceiling, nil), audit.VoidCeiling},     // the third in the window
		{view("b1", "bob", "t4", nil, once), ""},
		{view("b2", "bob", "t5", nil, once), audit.VoidConsent},
		{view("b3", "bob", "t4", nil, nil), audit.VoidToken}, // t4 again
		// A void for an event not read yet, then the event: void on arrival.
		{audit.Event{ID: "v1", Time: at, Kind: audit.KindVoid, Ref: "c1", Code: audit.VoidUnavailable, Citizen: "carol", Decision: "deny"}, ""},
		{view("c1", "carol", "t6", ceiling, nil), audit.VoidUnavailable},
		// A void of a2 frees its use for the next claim, not for a3 before it.
		{audit.Event{ID: "v2", Time: at, Kind: audit.KindVoid, Ref: "a2", Code: audit.VoidUnavailable, Citizen: "alice", Decision: "deny"}, ""},
		{view("a4", "alice", "t7", ceiling, nil), ""},
		{view("a5", "alice", "t8", ceiling, nil), audit.VoidCeiling},
	}
	for _, s := range script {
		if _, err := gw.log.Append(ctx, s.ev); err != nil {
			t.Fatal(err)
		}
	}
	// A producer's retry: a1's bytes again, after everything.
	var recs []audit.Record
	if err := client.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error {
		recs = append(recs, audit.FromMessage(m))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	recs = append(recs, recs[0])
	recs = rewritten(recs)

	check := func(t *testing.T, tr *audit.Trail) {
		t.Helper()
		for _, s := range script {
			void, found, err := tr.Outcome(s.ev.ID)
			if err != nil || !found || void != s.void {
				t.Errorf("%s: void %q (found %v, %v), want %q", s.ev.ID, void, found, err, s.void)
			}
		}
		e, _, _ := tr.Event(int64(len(recs) - 1))
		if e.ID != "a1" || e.Void != audit.VoidDuplicate {
			t.Errorf("the retry's copy: %s void %q, want a1 void duplicate", e.ID, e.Void)
		}
		for _, c := range []struct {
			citizen string
			want    int
		}{{"alice", 2}, {"bob", 1}, {"carol", 0}} {
			if n, err := tr.Uses(c.citizen, "cnaf", "benefits", at.Add(-time.Hour)); err != nil || n != c.want {
				t.Errorf("uses of %s: %d %v, want %d", c.citizen, n, err, c.want)
			}
		}
		if n, _ := tr.ConsentUses("bob", "cst-1", time.Time{}); n != 1 {
			t.Errorf("uses of the one-time consent: %d", n)
		}
		if !tr.TokenSeen("t4") || tr.TokenSeen("t99") {
			t.Error("tokens seen")
		}
	}
	t.Run("memory", func(t *testing.T) {
		tr := audit.NewTrail(store, audit.TrailOptions{Topic: topic, KeepEvents: true})
		for _, r := range recs {
			tr.Add(r) // the copy's retry is not a finding
		}
		check(t, tr)
	})
	t.Run("disk, reopened", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.db")
		tr, err := audit.OpenTrail(store, path, audit.TrailOptions{Topic: topic, SaveEvery: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			tr.Add(r)
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		if tr, err = audit.OpenTrail(store, path, audit.TrailOptions{Topic: topic, SaveEvery: 3}); err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		check(t, tr)
	})
}

// unsigned returns the records of events as one writer wrote them, and the
// leaf hashes that let a trail told to Expect them take them unsigned: a
// trail fed without a broker.
func unsigned(t testing.TB, evs []audit.Event) ([]audit.Record, []tlog.Hash) {
	t.Helper()
	recs, hashes := make([]audit.Record, len(evs)), make([]tlog.Hash, len(evs))
	for i, ev := range evs {
		ev.Writer, ev.Seq = "w0", int64(i)
		v, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		recs[i], hashes[i] = audit.Record{Offset: int64(i), Key: []byte(ev.ID), Value: v}, tlog.RecordHash(v)
	}
	return recs, hashes
}

// A disk index forgets, by the log's own clock, the tokens no gateway
// accepts any more, as the trail in memory does: kept, they would fill the
// file and be read back into memory at every start.
func TestDiskForgetsExpiredTokens(t *testing.T) {
	store := trusttest.New(t, members).Store(t)
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	var evs []audit.Event
	for i := range 40 {
		when := at
		if i >= 20 {
			when = at.Add(time.Hour) // long after the first tokens expired
		}
		evs = append(evs, audit.Event{ID: fmt.Sprintf("e%d", i), Time: when, Kind: audit.KindView, Requester: "cnaf",
			Decision: "deny", Token: fmt.Sprintf("tok-%d", i), TokenExpiry: when.Add(time.Minute).Unix()})
	}
	recs, hashes := unsigned(t, evs)
	path := filepath.Join(t.TempDir(), "audit.db")
	o := audit.TrailOptions{Topic: "t", SaveEvery: 4}
	tr, err := audit.OpenTrail(store, path, o)
	if err != nil {
		t.Fatal(err)
	}
	tr.Expect("w0", 0, hashes)
	for _, r := range recs {
		if err := tr.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if tr, err = audit.OpenTrail(store, path, o); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.TokenSeen("tok-0") || tr.TokenSeen("tok-19") {
		t.Error("tokens that expired an hour before the last event read are still remembered")
	}
	if !tr.TokenSeen("tok-20") || !tr.TokenSeen("tok-39") {
		t.Error("tokens still valid are forgotten")
	}
}

// What the trail says it has read (Next) it has counted: a reader that
// finds Next past an event finds the event in every count. Counting a
// claim lets readers in while the trail settles an event, and a gateway
// drops its hold on a use once Next is past the use's event; had Next
// moved first, a count in between would have missed both the hold and
// the event, and a one-time consent been released twice.
func TestReadMeansCounted(t *testing.T) {
	store := trusttest.New(t, members).Store(t)
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	const n = 800
	evs := make([]audit.Event, n)
	for i := range evs {
		evs[i] = audit.Event{ID: fmt.Sprintf("e%d", i), Time: at.Add(time.Duration(i) * time.Millisecond), Kind: audit.KindView,
			Requester: "cnaf", Citizen: "cit-1", Purpose: "p", Decision: "allow", Released: []string{"health.scheme"},
			Consent: &audit.ConsentClaim{ID: "cst-1", MaxUses: n + 1}}
	}
	recs, hashes := unsigned(t, evs)
	for _, layout := range []string{"memory", "disk"} {
		t.Run(layout, func(t *testing.T) {
			tr := audit.NewTrail(store, audit.TrailOptions{Topic: "t", KeepEvents: true})
			if layout == "disk" {
				var err error
				if tr, err = audit.OpenTrail(store, filepath.Join(t.TempDir(), "audit.db"), audit.TrailOptions{Topic: "t", SaveEvery: 64, KeepEvents: true}); err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
			}
			tr.Expect("w0", 0, hashes)
			done := make(chan error, 1)
			go func() {
				for _, r := range recs {
					if err := tr.Add(r); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			for {
				read := tr.Next()
				uses, err := tr.ConsentUses("cit-1", "cst-1", time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if int64(uses) < read {
					t.Fatalf("the trail says it read %d events, and counts %d uses of them", read, uses)
				}
				if read == n {
					break
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
