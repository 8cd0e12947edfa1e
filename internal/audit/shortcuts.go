package audit

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

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
// last checkpoint, then that the log holds every checkpoint kept outside
// it (TrailOptions.Anchors).
func (t *Trail) Finish() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.checkUnchecked(t.tree.Size())
	if err == nil {
		t.unchecked = nil
		err = t.checkAnchors()
	}
	return err
}

// checkAnchors: a log whose tail was cut off, checkpoints included, still
// verifies on its own; a checkpoint kept elsewhere (a witness's, or one
// asked of a gateway) says how long it was. t.mu is held.
func (t *Trail) checkAnchors() error {
	size := t.tree.Size()
	for _, a := range t.o.Anchors {
		if a.Origin != t.o.Origin {
			return &Finding{Offset: t.next, Checkpoint: true, Err: ErrCheckpoint, Detail: fmt.Sprintf("the checkpoint given is of %q, not of this log", a.Origin)}
		}
		if a.Size > size {
			return &Finding{Offset: t.next, Checkpoint: true, Err: ErrDropped, Detail: fmt.Sprintf(
				"the log ends after %d events, a signed checkpoint kept outside it covers %d: its last %d events were removed (truncated)", size, a.Size, a.Size-size)}
		}
		root, err := t.tree.Root(a.Size)
		if err != nil {
			return err
		}
		if root != a.Root {
			return &Finding{Offset: t.next, Checkpoint: true, Err: ErrRootMismatch, Detail: fmt.Sprintf(
				"the first %d events are not those a signed checkpoint kept outside the log covers", a.Size)}
		}
	}
	return nil
}
