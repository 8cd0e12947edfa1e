package audit

import (
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/tlog"
)

// A verifier replays the whole log, and the tree alone holds two stored
// hashes an event: 64 GB for a billion accesses. It keeps the recent ones
// in memory and moves the older ones to an unlinked temporary file.
// Appending an event reads mostly recent hashes: an older one only when a
// subtree that large completes, so once every few thousand events. A
// checkpoint's root and a retried event's leaf read a few more.

// DefaultVerifyHashes is how many stored hashes a verifier keeps in memory
// (32 MiB); it holds up to twice as many before moving the older ones out.
const DefaultVerifyHashes = 1 << 20

// maxUnchecked bounds the events a verifier keeps for a signature check
// that a later checkpoint may spare it (about a KB each). A gateway signs
// a checkpoint every 10 seconds by default, so this is a quarter of a
// million events between two of them; past it, as in a log whose
// checkpoints stopped, the oldest are checked at once.
const maxUnchecked = 1 << 18

// hashFile holds the stored hashes of a tree below its in-memory part,
// hash x at byte x*HashSize.
type hashFile struct {
	f *os.File
	n int64 // hashes written
}

func newHashFile() (*hashFile, error) {
	f, err := os.CreateTemp("", "passerelle-verify-*.hashes")
	if err != nil {
		return nil, fmt.Errorf("audit verify: file for the tree's older hashes: %w", err)
	}
	// Unlinked at once: the file is gone whatever ends the process.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	return &hashFile{f: f}, nil
}

func (h *hashFile) append(hs []tlog.Hash) error {
	const chunk = 4096
	buf := make([]byte, 0, chunk*tlog.HashSize)
	for len(hs) > 0 {
		n := min(len(hs), chunk)
		buf = buf[:0]
		for _, x := range hs[:n] {
			buf = append(buf, x[:]...)
		}
		if _, err := h.f.WriteAt(buf, h.n*tlog.HashSize); err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		h.n += int64(n)
		hs = hs[n:]
	}
	return nil
}

func (h *hashFile) read(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= h.n {
			return nil, fmt.Errorf("audit verify: hash %d not stored (%d on disk)", x, h.n)
		}
		if _, err := h.f.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("audit verify: %w", err)
		}
	}
	return out, nil
}

func (h *hashFile) close() error { return h.f.Close() }

// spillTo moves all but the last keep stored hashes to f, from which the
// tree then reads them, as it reads a disk index's (unsaved, saved).
func (t *Tree) spillTo(f *hashFile, keep int) error {
	from, hs := t.unsaved()
	n := len(hs) - keep
	if n <= 0 {
		return nil
	}
	if f.n != from {
		return fmt.Errorf("audit verify: the file holds %d hashes, the tree's memory starts at %d", f.n, from)
	}
	if err := f.append(hs[:n]); err != nil {
		return err
	}
	t.mu.Lock()
	t.older = f.read
	t.mu.Unlock()
	t.saved(from + int64(n))
	return nil
}

// bound keeps a verifier's memory flat: the tree's older hashes go to a
// file, and past maxUnchecked the oldest pending signatures are checked.
// t.mu is held.
func (t *Trail) bound() error {
	if len(t.unchecked) > t.maxUnchecked() {
		n := len(t.unchecked) / 2
		if err := t.checkUnchecked(t.unchecked[n-1].index + 1); err != nil {
			return err
		}
		t.unchecked = append(t.unchecked[:0], t.unchecked[n:]...)
	}
	keep := t.o.VerifyHashes
	if keep <= 0 {
		keep = DefaultVerifyHashes
	}
	if _, hs := t.tree.unsaved(); len(hs) < 2*keep {
		return nil
	}
	if t.spill == nil {
		f, err := newHashFile()
		if err != nil {
			return err
		}
		t.spill = f
	}
	return t.tree.spillTo(t.spill, keep)
}

func (t *Trail) maxUnchecked() int {
	if t.o.VerifyHashes > 0 {
		// Tests bounding the tree small bound this too.
		return max(t.o.VerifyHashes, 2)
	}
	return maxUnchecked
}

// release closes a verifier's file.
func (t *Trail) release() {
	if t.spill != nil {
		t.spill.close()
		t.spill = nil
	}
}
