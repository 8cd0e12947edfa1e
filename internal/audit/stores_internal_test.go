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
