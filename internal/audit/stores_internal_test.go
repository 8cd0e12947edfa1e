package audit

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// claimingEvents are n views that one writer wrote at one event a second,
// each with its own token but every tenth, which replays the one before
// (a void), as records a trail told to Expect them takes unsigned.
func claimingEvents(t testing.TB, n int) ([]Record, []tlog.Hash) {
	t.Helper()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	var recs []Record
	var hashes []tlog.Hash
	for i := range n {
		when, token := at.Add(time.Duration(i)*time.Second), i
		if i%10 == 9 {
			token--
		}
		ev := Event{ID: fmt.Sprintf("e%d", i), Writer: "w0", Seq: int64(i), Time: when, Kind: KindView, Requester: "cnaf",
			Citizen: fmt.Sprintf("c%d", i%7), Decision: "allow", Token: fmt.Sprintf("tok-%d", token), TokenExpiry: when.Add(time.Minute).Unix()}
		v, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		recs, hashes = append(recs, Record{Offset: int64(i), Key: []byte(ev.ID), Value: v}), append(hashes, tlog.RecordHash(v))
	}
	return recs, hashes
}

func registry(t testing.TB) *trust.Store {
	return trusttest.New(t, []trust.MemberSpec{{ID: "gw", Name: "Gateway", Roles: []string{"gateway"}}}).Store(t)
}

// What a trail gathers for its next save is dropped once saved; a trail in
// memory saves nothing, so it gathers nothing: a list it never saved
// would grow with every token and void for as long as the gateway runs.
func TestNothingGatheredForNoSave(t *testing.T) {
	recs, hashes := claimingEvents(t, 5000)
	t.Run("memory", func(t *testing.T) {
		tr := NewTrail(registry(t), TrailOptions{Topic: "t", KeepEvents: true})
		tr.Expect("w0", 0, hashes)
		for _, r := range recs {
			if err := tr.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		if n := tr.toSave(); n != 0 {
			t.Errorf("a trail in memory holds %d tokens and voids for a save that never comes", n)
		}
	})
	t.Run("disk", func(t *testing.T) {
		tr, err := OpenTrail(registry(t), filepath.Join(t.TempDir(), "audit.db"), TrailOptions{Topic: "t", SaveEvery: 64})
		if err != nil {
			t.Fatal(err)
		}
		tr.Expect("w0", 0, hashes)
		for _, r := range recs {
			if err := tr.Add(r); err != nil {
				t.Fatal(err)
			}
			if n := tr.toSave(); n > 4*64 {
				t.Fatalf("after offset %d: %d tokens and voids to save, more than four saves' worth", r.Offset, n)
			}
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		if n := tr.toSave(); n != 0 {
			t.Errorf("closed, saved, and still %d tokens and voids to save", n)
		}
	})
}

// toSave is how many settled claims the trail holds for its next save:
// the voids a disk index has yet to write (the tokens a save writes are
// those of the events it saves); a store in memory holds none.
func (t *Trail) toSave() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if s, ok := t.store.(*boltStore); ok {
		return len(s.newVoids)
	}
	return 0
}

// A disk index holds in memory only the voids it has not saved yet, and
// reads the others from the file, as it reads the events they void: held
// in memory, every void the log ever settled would be, and read back in
// full at every start.
func TestDiskHoldsNoSavedVoids(t *testing.T) {
	recs, hashes := claimingEvents(t, 5000)
	path := filepath.Join(t.TempDir(), "audit.db")
	o := TrailOptions{Topic: "t", SaveEvery: 64}
	tr, err := OpenTrail(registry(t), path, o)
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
	if n := tr.heldVoids(); n != 0 {
		t.Errorf("closed, saved, and still %d voids in memory", n)
	}
	if tr, err = OpenTrail(registry(t), path, o); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if n := tr.heldVoids(); n != 0 {
		t.Errorf("reopened with %d voids in memory", n)
	}
	for _, id := range []string{"e9", "e4999"} { // replays: void
		if void, found, err := tr.Outcome(id); err != nil || !found || void != VoidToken {
			t.Errorf("%s: void %q (found %v, %v), want %q", id, void, found, err, VoidToken)
		}
	}
	if void, found, err := tr.Outcome("e8"); err != nil || !found || void != "" {
		t.Errorf("e8: void %q (found %v, %v), want none", void, found, err)
	}
	if e, ok, err := tr.Event(4999); err != nil || !ok || e.Void != VoidToken {
		t.Errorf("event 4999: void %q (%v, %v), want %q", e.Void, ok, err, VoidToken)
	}
	// c2 holds e2, e9, e16...: a tenth of them replays, and counts nothing.
	if n, err := tr.Uses("c2", "cnaf", "", time.Time{}); err != nil || n != 642 {
		t.Errorf("uses of c2: %d %v, want 642", n, err)
	}
	if es, _, err := tr.Events(Filter{After: -1, Citizen: "c2", Limit: 3}); err != nil || len(es) != 3 || es[1].Void != VoidToken {
		t.Errorf("events of c2: %+v %v, want the second void", es, err)
	}
}

// heldVoids is how many voids a disk index holds in memory apart from its
// tail's events.
func (t *Trail) heldVoids() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.store.(*boltStore).voids)
}

// A disk index reads every void as the trail in memory holds it, while it
// runs and once reopened: by id, by leaf, in a citizen's events and in
// their counts.
func TestDiskVoidsAsInMemory(t *testing.T) {
	recs, hashes := claimingEvents(t, 3000)
	mem := NewTrail(registry(t), TrailOptions{Topic: "t", KeepEvents: true})
	mem.Expect("w0", 0, hashes)
	path := filepath.Join(t.TempDir(), "audit.db")
	o := TrailOptions{Topic: "t", SaveEvery: 100}
	disk, err := OpenTrail(registry(t), path, o)
	if err != nil {
		t.Fatal(err)
	}
	disk.Expect("w0", 0, hashes)
	for _, r := range recs {
		if err := mem.Add(r); err != nil {
			t.Fatal(err)
		}
		if err := disk.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("running", func(t *testing.T) { sameVoids(t, mem, disk, len(recs)) })
	if err := disk.Close(); err != nil {
		t.Fatal(err)
	}
	if disk, err = OpenTrail(registry(t), path, o); err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	t.Run("reopened", func(t *testing.T) { sameVoids(t, mem, disk, len(recs)) })
}

func sameVoids(t *testing.T, mem, disk *Trail, n int) {
	for i := range int64(n) {
		we, _, _ := mem.Event(i)
		ge, ok, err := disk.Event(i)
		if err != nil || !ok || ge.Void != we.Void {
			t.Fatalf("event %d: void %q (%v, %v), want %q", i, ge.Void, ok, err, we.Void)
		}
		if void, found, err := disk.Outcome(we.ID); err != nil || !found || void != we.Void {
			t.Fatalf("outcome of %s: %q (%v, %v), want %q", we.ID, void, found, err, we.Void)
		}
	}
	for c := range 7 {
		citizen := fmt.Sprintf("c%d", c)
		wn, _ := mem.Uses(citizen, "cnaf", "", time.Time{})
		if gn, err := disk.Uses(citizen, "cnaf", "", time.Time{}); err != nil || gn != wn {
			t.Errorf("uses of %s: %d %v, want %d", citizen, gn, err, wn)
		}
		we, _, _ := mem.Events(Filter{After: -1, Citizen: citizen})
		ge, _, err := disk.Events(Filter{After: -1, Citizen: citizen})
		if err != nil || len(ge) != len(we) {
			t.Fatalf("events of %s: %d %v, want %d", citizen, len(ge), err, len(we))
		}
		for k := range we {
			if ge[k].Index != we[k].Index || ge[k].Void != we[k].Void {
				t.Fatalf("events of %s, #%d: leaf %d void %q, want leaf %d void %q", citizen, k, ge[k].Index, ge[k].Void, we[k].Index, we[k].Void)
			}
		}
	}
}
