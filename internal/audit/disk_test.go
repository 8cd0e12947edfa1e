package audit_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
)

var epoch = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// variedEvent spreads events over citizens, requesters, purposes, kinds,
// decisions and time, for the indexes to have something to tell apart.
func variedEvent(g, i int) audit.Event {
	n := g*100_000 + i
	return audit.Event{ID: fmt.Sprintf("ev-%d-%d", g, i), Time: epoch.Add(time.Duration(n%9973) * time.Minute),
		Kind:      []string{audit.KindView, audit.KindView, audit.KindView, audit.KindConsent, audit.KindTrace}[i%5],
		Requester: []string{"cnaf", "dgfip", "cpam"}[(g+i)%3], Purpose: []string{"benefits", "tax-assessment"}[i%2],
		LegalBasis: "CSS L. 114-12", Citizen: fmt.Sprintf("citizen-%d", (g*7+i)%50), Decision: []string{"allow", "partial", "deny"}[i%3],
		Released: []string{"tax.income", "civil.name"}[:i%3], Withheld: []string{"health.affections"}[:i%2], Rule: "r-1", PolicyVersion: "v1"}
}

// TestDiskTrailMatchesMemoryAcrossRestarts: a trail kept in a disk index,
// stopped part way and resumed from the topic, answers every question as
// the trail that read the whole log in memory does.
func TestDiskTrailMatchesMemoryAcrossRestarts(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		w := writeLogOf(t, tg, 10_000, variedEvent)
		mem := audit.NewTrail(w.store, audit.TrailOptions{Topic: w.topic, KeepEvents: true})
		for _, r := range w.records {
			if err := mem.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(t.TempDir(), "audit.db")
		o := audit.TrailOptions{Topic: w.topic}

		// First life: the records up to an event well past a save.
		cut := len(w.records) * 6 / 10
		for !isEvent(w.records[cut-1]) {
			cut++
		}
		d, err := audit.OpenTrail(w.store, path, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range w.records[:cut] {
			if err := d.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		saved, latest := d.Size(), mustLatest(t, d).Size
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if err := d.Add(w.records[cut]); !errors.Is(err, audit.ErrClosed) {
			t.Fatalf("Add after Close: %v", err)
		}
		firstLife := copyFile(t, path)

		// Second life: from the file, then the rest from the topic.
		d, err = audit.OpenTrail(w.store, path, o)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if d.Size() != saved || mustLatest(t, d).Size != latest {
			t.Fatalf("reopened with %d events and checkpoint %d, saved %d and %d", d.Size(), mustLatest(t, d).Size, saved, latest)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		go d.Follow(ctx, tg.Client(t), nil)
		select {
		case <-d.Ready():
		case <-ctx.Done():
			t.Fatal("the reopened trail never caught up")
		}
		sameTrail(t, mem, d)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}

		t.Run("reset topic", func(t *testing.T) {
			// An index of a topic since deleted and created again, empty.
			client := tg.Client(t)
			o := audit.TrailOptions{Topic: bustest.Topic(t, client, 1)}
			p := filepath.Join(t.TempDir(), "audit.db")
			tr, err := audit.OpenTrail(w.store, p, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range w.records[:100] {
				tr.Add(r) // the checkpoints are of the other topic's log: findings
			}
			tr.Close()
			if tr, err = audit.OpenTrail(w.store, p, o); err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if err := tr.CheckResume(ctx, client); !errors.Is(err, audit.ErrIndex) {
				t.Fatalf("resuming past the topic's end: %v", err)
			}
		})
		t.Run("tampered", func(t *testing.T) {
			tamperedIndexes(t, w, firstLife, path, saved, latest)
		})
	})
}

func mustLatest(t *testing.T, tr *audit.Trail) audit.Published {
	t.Helper()
	p, ok := tr.Latest()
	if !ok {
		t.Fatal("no checkpoint")
	}
	return p
}

// sameTrail compares what the gateway asks of a trail.
func sameTrail(t *testing.T, want, got *audit.Trail) {
	t.Helper()
	n := want.Size()
	if got.Size() != n || got.Duplicates() != want.Duplicates() {
		t.Fatalf("%d events, %d duplicates; want %d, %d", got.Size(), got.Duplicates(), n, want.Duplicates())
	}
	if w, g := mustLatest(t, want), mustLatest(t, got); w.Checkpoint != g.Checkpoint || w.Offset != g.Offset {
		t.Fatalf("latest checkpoint %+v, want %+v", g, w)
	}
	for _, size := range []int64{1, 255, 4096, 4097, n / 2, n} {
		wr, _ := want.Tree().Root(size)
		gr, err := got.Tree().Root(size)
		if err != nil || gr != wr {
			t.Fatalf("root of %d: %v", size, err)
		}
	}
	for i := int64(0); i < n; i += 97 {
		we, _, _ := want.Event(i)
		ge, ok, err := got.Event(i)
		if err != nil || !ok || !sameJSON(we, ge) {
			t.Fatalf("event %d: %v %v\n got %+v\nwant %+v", i, ok, err, ge, we)
		}
		if idx, ok, err := got.Index(we.ID); err != nil || !ok || idx != i {
			t.Fatalf("index of %s: %d %v %v, want %d", we.ID, idx, ok, err, i)
		}
		wp, _ := want.Tree().Inclusion(i, n)
		gp, err := got.Tree().Inclusion(i, n)
		if err != nil || !sameJSON(wp, gp) {
			t.Fatalf("inclusion of %d: %v", i, err)
		}
	}
	if _, ok, err := got.Index("no-such-event"); ok || err != nil {
		t.Fatalf("unknown id: %v %v", ok, err)
	}
	for _, f := range []audit.Filter{
		{After: -1},
		{After: -1, Citizen: "citizen-3"},
		{After: -1, Citizen: "citizen-49", Kinds: []string{audit.KindView}, Requester: "cpam"},
		{After: -1, Requester: "dgfip"},
		{After: -1, Requester: "cnaf", Purpose: "tax-assessment", Kinds: []string{audit.KindView, audit.KindTrace}},
		{After: -1, Citizen: "citizen-7", From: epoch.Add(time.Hour), To: epoch.Add(40 * time.Hour)},
		{After: -1, From: epoch.Add(100 * time.Hour), Limit: 50},
		{After: 4000, Limit: 100},
		{After: 5000, Citizen: "citizen-1", Limit: 3},
		{After: 2000, Requester: "cpam", Limit: 700},
		{After: n - 10},
		{After: -1, Citizen: "nobody"},
	} {
		we, wmore, _ := want.Events(f)
		ge, gmore, err := got.Events(f)
		if err != nil || gmore != wmore || !sameJSON(we, ge) {
			t.Fatalf("events %+v: %d (more %v, %v), want %d (more %v)", f, len(ge), gmore, err, len(we), wmore)
		}
	}
	for c := range 50 {
		for _, req := range []string{"cnaf", "dgfip", "cpam"} {
			citizen, since := fmt.Sprintf("citizen-%d", c), epoch.Add(time.Duration(c)*time.Hour)
			wn, _ := want.Uses(citizen, req, "benefits", since)
			gn, err := got.Uses(citizen, req, "benefits", since)
			if err != nil || gn != wn {
				t.Fatalf("accesses of %s by %s: %d %v, want %d", citizen, req, gn, err, wn)
			}
		}
	}
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// tamperedIndexes: a file altered behind the gateway's back is refused
// when opened, or its altered events are refused when read.
func tamperedIndexes(t *testing.T, w *written, firstLife []byte, path string, saved, latest int64) {
	o := audit.TrailOptions{Topic: w.topic}
	open := func(t *testing.T, file []byte, o audit.TrailOptions, alter func(tx *bolt.Tx) error) (*audit.Trail, error) {
		t.Helper()
		p := filepath.Join(t.TempDir(), "audit.db")
		if err := os.WriteFile(p, file, 0o600); err != nil {
			t.Fatal(err)
		}
		if alter != nil {
			db, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(alter); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
		tr, err := audit.OpenTrail(w.store, p, o)
		if tr != nil {
			t.Cleanup(func() { tr.Close() })
		}
		return tr, err
	}
	flip := func(bucket string, key []byte, at int) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucket))
			v := append([]byte(nil), b.Get(key)...)
			if len(v) <= at {
				return fmt.Errorf("%s %x: %d bytes", bucket, key, len(v))
			}
			v[at] ^= 1
			return b.Put(key, v)
		}
	}
	leaf := func(i int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }
	final := copyFile(t, path)

	t.Run("signed hashes", func(t *testing.T) {
		_, err := open(t, final, o, func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("hashes"))
			var keys [][]byte
			b.ForEach(func(k, _ []byte) error { keys = append(keys, k); return nil })
			for _, k := range keys {
				v := append([]byte(nil), b.Get(k)...)
				for at := 0; at < len(v); at += 32 {
					v[at] ^= 1
				}
				if err := b.Put(k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, audit.ErrIndex) {
			t.Fatalf("opened with altered hashes: %v", err)
		}
	})
	t.Run("unsigned tail", func(t *testing.T) {
		if latest >= saved {
			t.Fatalf("the first life saved %d events, all under its checkpoint of %d", saved, latest)
		}
		// The event's bytes at offset 8 on: its JSON.
		_, err := open(t, firstLife, o, flip("events", leaf(saved-1), 20))
		if !errors.Is(err, audit.ErrIndex) {
			t.Fatalf("opened with an altered unsigned event: %v", err)
		}
	})
	t.Run("signed event", func(t *testing.T) {
		tr, err := open(t, final, o, flip("events", leaf(10), 20))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := tr.Event(10); !errors.Is(err, audit.ErrIndex) {
			t.Fatalf("altered event read back: %v", err)
		}
		if _, _, err := tr.Events(audit.Filter{After: -1}); !errors.Is(err, audit.ErrIndex) {
			t.Fatalf("altered event listed: %v", err)
		}
		if e, _, err := tr.Event(11); err != nil || e.Index != 11 {
			t.Fatalf("the event beside it: %v", err)
		}
	})
	t.Run("another log", func(t *testing.T) {
		o := o
		o.Topic = "another.topic"
		if _, err := open(t, final, o, nil); !errors.Is(err, audit.ErrIndex) {
			t.Fatalf("opened as another log's: %v", err)
		}
	})
}

func copyFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The trail's filters and counts against an oracle written here, from the
// records as JSON, so that the memory and disk indexes, which share their
// filter code, are not only checked against each other.
func TestTrailQueriesAgainstAnOracle(t *testing.T) {
	w := writeLogOf(t, bustest.Embedded(t), 3_000, variedEvent)
	var all []audit.Entry
	for _, r := range w.records {
		if !isEvent(r) {
			continue
		}
		var ev audit.Event
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatal(err)
		}
		all = append(all, audit.Entry{Index: int64(len(all)), Offset: r.Offset, Event: ev})
	}
	oracle := func(f audit.Filter) (ids []string, more bool) {
		limit := f.Limit
		if limit <= 0 || limit > audit.MaxPage {
			limit = audit.MaxPage
		}
		for _, e := range all {
			ok := e.Index > f.After &&
				(f.Citizen == "" || e.Citizen == f.Citizen) &&
				(f.Requester == "" || e.Requester == f.Requester) &&
				(f.Purpose == "" || e.Purpose == f.Purpose) &&
				(len(f.Kinds) == 0 || slices.Contains(f.Kinds, e.Kind)) &&
				(f.From.IsZero() || !e.Time.Before(f.From)) &&
				(f.To.IsZero() || e.Time.Before(f.To))
			if !ok {
				continue
			}
			if len(ids) == limit {
				return ids, true
			}
			ids = append(ids, e.ID)
		}
		return ids, false
	}
	disk, err := audit.OpenTrail(w.store, filepath.Join(t.TempDir(), "audit.db"), audit.TrailOptions{Topic: w.topic, SaveEvery: 97})
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	mem := audit.NewTrail(w.store, audit.TrailOptions{Topic: w.topic, KeepEvents: true})
	for _, r := range w.records {
		if err := mem.Add(r); err != nil {
			t.Fatal(err)
		}
		if err := disk.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	filters := []audit.Filter{
		{After: -1, Citizen: "citizen-3"},
		{After: -1, Citizen: "citizen-12", Kinds: []string{audit.KindView}},
		{After: -1, Requester: "dgfip", Purpose: "benefits"},
		{After: -1, Kinds: []string{audit.KindConsent, audit.KindTrace}, Limit: 40},
		{After: 1500, Requester: "cpam", Limit: 25},
		{After: -1, From: epoch.Add(30 * time.Hour), To: epoch.Add(31 * time.Hour)},
		{After: -1, Citizen: "citizen-40", From: epoch.Add(10 * time.Hour), Purpose: "tax-assessment"},
		{After: 2990},
	}
	for _, f := range filters {
		wantIDs, wantMore := oracle(f)
		for name, tr := range map[string]*audit.Trail{"memory": mem, "disk": disk} {
			page, more, err := tr.Events(f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range page {
				got = append(got, e.ID)
			}
			if !slices.Equal(got, wantIDs) || more != wantMore {
				t.Fatalf("%s, filter %+v: %d events (more %v), the oracle %d (more %v)", name, f, len(got), more, len(wantIDs), wantMore)
			}
		}
	}
	for c := range 50 {
		citizen := fmt.Sprintf("citizen-%d", c)
		for _, req := range []string{"cnaf", "dgfip", "cpam"} {
			since := epoch.Add(time.Duration(c*3) * time.Hour)
			want := 0
			for _, e := range all {
				if e.Citizen == citizen && e.Requester == req && e.Purpose == "benefits" && e.Kind == audit.KindView &&
					(e.Decision == "allow" || e.Decision == "partial") && !e.Time.Before(since) {
					want++
				}
			}
			for name, tr := range map[string]*audit.Trail{"memory": mem, "disk": disk} {
				if n, err := tr.Uses(citizen, req, "benefits", since); err != nil || n != want {
					t.Fatalf("%s: uses of %s by %s: %d %v, the oracle %d", name, citizen, req, n, err, want)
				}
			}
		}
	}
}
