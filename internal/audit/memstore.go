package audit

import (
	"context"
	"fmt"

	"github.com/passerelle-bus/passerelle/internal/bus"
)

// memoryStore keeps events in memory, each with its void: all of them for
// a trail without a disk index, or, as a boltStore's tail, those from leaf
// base on that are not saved yet.
type memoryStore struct {
	base      int64 // leaf of entries[0]
	entries   []Entry
	byID      map[string]int64
	byCitizen map[string]*citizenLeaves
}

// citizenLeaves are the leaves about one citizen; name is the pseudonym
// the citizen's events share.
type citizenLeaves struct {
	name   string
	leaves []int64
}

func newMemoryStore() *memoryStore {
	return &memoryStore{byID: map[string]int64{}, byCitizen: map[string]*citizenLeaves{}}
}

func (s *memoryStore) add(e Entry, _ []byte, retry bool) {
	if e.Citizen != "" {
		ci := s.byCitizen[e.Citizen]
		if ci == nil {
			ci = &citizenLeaves{name: e.Citizen}
			s.byCitizen[ci.name] = ci
		}
		e.Citizen = ci.name // one string for all of the citizen's events
		ci.leaves = append(ci.leaves, e.Index)
	}
	s.entries = append(s.entries, e)
	if !retry {
		s.byID[e.ID] = e.Index
	}
}

// at is the event at leaf i, nil if the store does not hold it.
func (s *memoryStore) at(i int64) *Entry {
	if i < s.base || i >= s.base+int64(len(s.entries)) {
		return nil
	}
	return &s.entries[i-s.base]
}

func (s *memoryStore) void(i int64, code string) {
	if e := s.at(i); e != nil {
		e.Void = code
	}
}

func (s *memoryStore) entry(i int64) (Entry, bool, error) {
	if e := s.at(i); e != nil {
		return *e, true, nil
	}
	return Entry{}, false, nil
}

func (s *memoryStore) index(id string) (int64, string, bool, error) {
	i, ok := s.byID[id]
	if !ok {
		return 0, "", false, nil
	}
	var void string
	if e := s.at(i); e != nil {
		void = e.Void
	}
	return i, void, true, nil
}

func (s *memoryStore) events(f Filter, visit func(*Entry) bool) (bool, error) {
	if f.Citizen != "" {
		for _, i := range s.citizenLeaves(f.Citizen) {
			if !visit(&s.entries[i-s.base]) {
				return true, nil
			}
		}
		return false, nil
	}
	for i := max(f.After+1, s.base); i < s.base+int64(len(s.entries)); i++ {
		if !visit(&s.entries[i-s.base]) {
			return true, nil
		}
	}
	return false, nil
}

func (s *memoryStore) count(citizen string, u claimUses) (int, error) {
	n := 0
	for _, i := range s.citizenLeaves(citizen) {
		if u.counts(&s.entries[i-s.base]) {
			n++
		}
	}
	return n, nil
}

func (s *memoryStore) citizenLeaves(citizen string) []int64 {
	if ci := s.byCitizen[citizen]; ci != nil {
		return ci.leaves
	}
	return nil
}

// leafOf: a trail in memory never drops a writer's seqs, so none is asked
// of the store.
func (s *memoryStore) leafOf(writer string, seq int64) (int64, error) {
	return 0, fmt.Errorf("%w: writer %s seq %d is not indexed", ErrIndex, writer, seq)
}

// drop forgets the first n events, which a save has written, leaving
// room for a save's worth more; leaf base is the first one left.
func (s *memoryStore) drop(n int, base int64, room int) {
	for k := range n {
		e := &s.entries[k]
		if s.byID[e.ID] == e.Index {
			delete(s.byID, e.ID)
		}
		if ci := s.byCitizen[e.Citizen]; ci != nil {
			k := 0
			for k < len(ci.leaves) && ci.leaves[k] < base {
				k++
			}
			if ci.leaves = ci.leaves[k:]; len(ci.leaves) == 0 {
				delete(s.byCitizen, e.Citizen)
			}
		}
	}
	// Sized for the next save, so that filling it does not copy it again
	// and again.
	s.entries = append(make([]Entry, 0, room+len(s.entries)-n), s.entries[n:]...)
	s.base = base
}

// A memory store has nothing to save and nothing to close, and its trail
// read the topic from the beginning: it resumes nowhere.

func (s *memoryStore) writable() error         { return nil }
func (s *memoryStore) gathered(t *Trail) error { return nil }
func (s *memoryStore) close(t *Trail) error    { return nil }
func (s *memoryStore) checkResume(context.Context, *bus.Client, *Trail, int64) error {
	return nil
}
