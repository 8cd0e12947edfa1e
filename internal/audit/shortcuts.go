package audit

import "golang.org/x/mod/sumdb/tlog"

// Two ways the trail spares itself an Ed25519 check per group commit: the
// gateway's trail knows the events its own Log wrote by their hash, and a
// verifier defers signature checks to the events no checkpoint vouches for.

type expectedEvents struct {
	first  int64 // seq of hashes[0]
	hashes []tlog.Hash
}

// Expect is told, by the Log of the same process, the leaf hashes of the
// events it is about to write (LogOptions.Expect).
func (t *Trail) Expect(writer string, first int64, hashes []tlog.Hash) {
	t.expectMu.Lock()
	defer t.expectMu.Unlock()
	if t.expect == nil {
		t.expect = map[string]*expectedEvents{}
	}
	e := t.expect[writer]
	if e == nil {
		// A new writer (epoch): the previous ones of this Log will write no
		// more, and whatever of them still lands is verified as any.
		clear(t.expect)
		e = &expectedEvents{first: first}
		t.expect[writer] = e
	}
	e.hashes = append(e.hashes, hashes...)
}

// expected reports whether the event is one this process wrote, as it wrote
// it, and forgets the hashes up to it.
func (t *Trail) expected(writer string, seq int64, leaf tlog.Hash) bool {
	t.expectMu.Lock()
	defer t.expectMu.Unlock()
	e := t.expect[writer]
	if e == nil || seq < e.first || seq >= e.first+int64(len(e.hashes)) {
		return false
	}
	if e.hashes[seq-e.first] != leaf {
		return false
	}
	n := seq - e.first + 1
	e.hashes = e.hashes[n:]
	e.first += n
	return true
}

type uncheckedEvent struct {
	index int64
	id    string
	r     Record
}

// vouched drops the pending signature checks of the first size events: a
// gateway's checkpoint authenticates them.
func (t *Trail) vouched(size int64) {
	i := 0
	for i < len(t.unchecked) && t.unchecked[i].index < size {
		i++
	}
	t.unchecked = append(t.unchecked[:0], t.unchecked[i:]...)
}

// checkUnchecked verifies the pending events below size, in log order,
// and returns the first that no gateway signed.
func (t *Trail) checkUnchecked(size int64) error {
	for _, u := range t.unchecked {
		if u.index >= size {
			break
		}
		if err := t.checkSigner(u.r); err != nil {
			return &Finding{Offset: u.r.Offset, Event: u.id, Err: ErrForged, Detail: err.Error()}
		}
	}
	return nil
}

// Finish checks, with Deferred, the signatures of the events after the
// last checkpoint.
func (t *Trail) Finish() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.checkUnchecked(t.tree.Size())
	if err == nil {
		t.unchecked = nil
	}
	return err
}
