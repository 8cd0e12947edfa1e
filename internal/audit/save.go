package audit

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// A snapshot is what a save writes: the records the trail has gathered
// since the last one, up to offset next.
type snapshot struct {
	next, size, duplicates int64
	latest                 *Published
	hashFrom               int64
	hashes                 []tlog.Hash
	events                 []Entry
	raws                   [][]byte
	writers                map[string]writerState
	checkpoints            []Published
	voids                  map[int64]string
	tokens                 map[string]int64
	lastTime               time.Time // the latest event time read
}

// How a save starts.
type saveMode int

const (
	saveAsync  saveMode = iota // in the background, unless one is in flight
	saveBehind                 // in the background, after the one in flight
	saveNow                    // after the one in flight, returning once written
)

// add keeps an event in the tail, until a save writes it.
func (s *boltStore) add(e Entry, raw []byte, retry bool) {
	s.tail.add(e, raw, retry)
	s.raws = append(s.raws, raw)
	if e.Void != "" {
		s.newVoids = append(s.newVoids, e.Index)
	}
}

// void voids an event of the tail in place, or a saved one in voids; the
// next save writes it either way.
func (s *boltStore) void(i int64, code string) {
	if e := s.tail.at(i); e != nil {
		e.Void = code
	} else {
		s.voids[i] = code
	}
	s.newVoids = append(s.newVoids, i)
}

// gathered starts a save once the trail has gathered SaveEvery records,
// and makes the trail wait for the disk past four saves' worth.
func (s *boltStore) gathered(t *Trail) error {
	n := len(s.tail.entries) + len(t.checkpoints)
	if n < t.o.SaveEvery {
		return nil
	}
	mode := saveAsync
	if n >= 4*t.o.SaveEvery {
		mode = saveBehind
	}
	return s.save(t, mode)
}

// save writes what the trail has gathered, in one transaction with the
// offset to resume at. The write runs without t.mu, so views counting
// fair use and auditors reading the trail never wait for the disk: the
// trail keeps the saved records in memory until the write has landed,
// then drops them. One save at a time; t.mu is held.
func (s *boltStore) save(t *Trail, mode saveMode) error {
	if s.saving {
		if mode == saveAsync {
			return nil
		}
		// A replay can read faster than bbolt writes: past a few saves'
		// worth, reading waits for the disk rather than filling memory.
		t.mu.Unlock()
		s.saves.Wait()
		t.mu.Lock()
	}
	if s.saveErr != nil {
		return s.saveErr
	}
	snap := s.snapshot(t)
	s.saving = true
	s.saves.Add(1)
	write := func() error {
		err := s.write(snap)
		t.mu.Lock()
		defer t.mu.Unlock()
		defer s.saves.Done()
		s.saving = false
		if err != nil {
			s.saveErr = fmt.Errorf("audit index %s: save: %w", s.path, err)
			return s.saveErr
		}
		s.trim(t, snap)
		return nil
	}
	if mode != saveNow {
		go write()
		return nil
	}
	t.mu.Unlock()
	err := write()
	t.mu.Lock()
	return err
}

func (s *boltStore) snapshot(t *Trail) *snapshot {
	from, hs := t.tree.unsaved()
	snap := &snapshot{next: t.next, size: t.tree.Size(), duplicates: t.duplicates, latest: t.latest, lastTime: t.lastTime,
		hashFrom: from, hashes: hs, events: s.tail.entries, raws: s.raws, checkpoints: t.checkpoints,
		writers: make(map[string]writerState, len(t.writers)),
		voids:   make(map[int64]string, len(s.newVoids))}
	for _, i := range s.newVoids {
		snap.voids[i] = s.voidOf(i)
	}
	s.newVoids = nil
	// The tokens the events saved claimed: those the trail remembers with
	// the expiry one of them carries. (A retry's copy, or a replay with the
	// same expiry, names a token already written: writing it again changes
	// nothing.)
	n := 0
	for k := range snap.events {
		if snap.events[k].Token != "" {
			n++
		}
	}
	snap.tokens = make(map[string]int64, n)
	t.tokMu.Lock()
	for k := range snap.events {
		e := &snap.events[k]
		if e.Token == "" {
			continue
		}
		if exp, ok := t.tokens[e.Token]; ok && exp == e.TokenExpiry {
			snap.tokens[e.Token] = exp
		}
	}
	t.tokMu.Unlock()
	for name, w := range t.writers {
		sw := *w
		sw.leaves = w.leaves.clone()
		snap.writers[name] = sw
	}
	return snap
}

// voidOf is the void of leaf i.
func (s *boltStore) voidOf(i int64) string {
	if e := s.tail.at(i); e != nil {
		return e.Void
	}
	return s.voids[i]
}

func (s *boltStore) write(snap *snapshot) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHashes)
		b.FillPercent = 1 // appended in key order
		for i := 0; i < len(snap.hashes); i += hashChunk {
			v := make([]byte, 0, hashChunk*tlog.HashSize)
			for _, h := range snap.hashes[i:min(i+hashChunk, len(snap.hashes))] {
				v = append(v, h[:]...)
			}
			if err := b.Put(u64key((snap.hashFrom+int64(i))/hashChunk), v); err != nil {
				return err
			}
		}
		if err := writeEvents(tx, snap); err != nil {
			return err
		}
		if err := writeClaims(tx, snap); err != nil {
			return err
		}
		seqs, writers := tx.Bucket(bucketSeqs), tx.Bucket(bucketWriters)
		for name, w := range snap.writers {
			err := w.leaves.each(func(seq, leaf int64) error { return seqs.Put(named(name, seq), u64key(leaf)) })
			if err != nil {
				return err
			}
			if err := writers.Put([]byte(name), append(u64key(w.next), w.lastID...)); err != nil {
				return err
			}
		}
		cps := tx.Bucket(bucketCheckpoints)
		cps.FillPercent = 1
		for _, p := range snap.checkpoints {
			if err := cps.Put(u64key(p.Offset), p.Note); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		kv := [][2][]byte{{metaNext, u64key(snap.next)}, {metaSize, u64key(snap.size)}, {metaDuplicates, u64key(snap.duplicates)}}
		if snap.latest != nil {
			kv = append(kv, [2][]byte{metaLatest, u64key(snap.latest.Offset)})
		}
		for _, e := range kv {
			if err := meta.Put(e[0], e[1]); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeEvents(tx *bolt.Tx, s *snapshot) error {
	events, ids, citizens, requesters := tx.Bucket(bucketEvents), tx.Bucket(bucketIDs), tx.Bucket(bucketCitizens), tx.Bucket(bucketRequesters)
	events.FillPercent = 1
	// Each index is written in key order, so that the pages a save
	// rewrites are visited once each, not found again for every key.
	type put struct{ k, v []byte }
	byID, byCitizen, byRequester := make([]put, 0, len(s.events)), make([]put, 0, len(s.events)), make([]put, 0, len(s.events))
	for k := range s.events {
		// By pointer, its void unread: the trail may void an event of its
		// tail while a save writes it (s.voids has the void it had).
		e := &s.events[k]
		leaf := u64key(e.Index)
		if err := events.Put(leaf, append(u64key(e.Offset), s.raws[k]...)); err != nil {
			return err
		}
		if s.voids[e.Index] != VoidDuplicate { // an id names its first copy
			byID = append(byID, put{[]byte(e.ID), leaf})
		}
		if e.Citizen != "" {
			byCitizen = append(byCitizen, put{named(e.Citizen, e.Index), summarize(e)})
		}
		if e.Requester != "" {
			byRequester = append(byRequester, put{named(e.Requester, e.Index), nil})
		}
	}
	for _, ix := range []struct {
		b    *bolt.Bucket
		puts []put
	}{{ids, byID}, {citizens, byCitizen}, {requesters, byRequester}} {
		slices.SortFunc(ix.puts, func(a, b put) int { return bytes.Compare(a.k, b.k) })
		for _, p := range ix.puts {
			if err := ix.b.Put(p.k, p.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// trim drops from memory what a save has written, of the store and of
// the trail; t.mu is held.
func (s *boltStore) trim(t *Trail, snap *snapshot) {
	if snap.latest != nil {
		s.anchor = anchor{snap.latest.Size, snap.latest.Root}
	}
	stored := snap.hashFrom + int64(len(snap.hashes))
	t.tree.saved(stored / hashChunk * hashChunk)
	// The voids written are read from the disk from now on; those set
	// since the snapshot wait in voids for the next save.
	for i, code := range snap.voids {
		s.onDisk.set(i)
		if s.voids[i] == code {
			delete(s.voids, i)
		}
	}
	n := len(snap.events)
	for k := range n {
		if e := &s.tail.entries[k]; e.Void != "" && snap.voids[e.Index] != e.Void {
			s.voids[e.Index] = e.Void
		}
	}
	s.tail.drop(n, snap.size, t.o.SaveEvery)
	s.raws = append(make([][]byte, 0, t.o.SaveEvery+len(s.raws)-n), s.raws[n:]...)
	t.checkpoints = append([]Published(nil), t.checkpoints[len(snap.checkpoints):]...)
	for name, sw := range snap.writers {
		w := t.writers[name]
		w.leaves.dropBefore(sw.next)
	}
	// Sharing is only a saving: what the saved events shared need not be
	// kept for the next ones.
	t.in.reset()
}

func (s *boltStore) close(t *Trail) error {
	if s.closed {
		return nil
	}
	s.closed = true
	return errors.Join(s.save(t, saveNow), s.db.Close())
}

// writeClaims saves what the claims settled since the last save, and
// forgets the tokens no gateway accepts any more.
func writeClaims(tx *bolt.Tx, s *snapshot) error {
	voids, tokens := tx.Bucket(bucketVoids), tx.Bucket(bucketTokens)
	for i, code := range s.voids {
		if err := voids.Put(u64key(i), []byte(code)); err != nil {
			return err
		}
	}
	for k, exp := range s.tokens {
		if err := tokens.Put(append(u64key(exp), k...), nil); err != nil {
			return err
		}
	}
	// By the log's own clock, as the trail in memory forgets them.
	cutoff := s.lastTime.Add(-TokenWindow).Unix()
	c := tokens.Cursor()
	for k, _ := c.First(); k != nil && u64(k) < cutoff; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
