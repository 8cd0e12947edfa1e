package audit

import (
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// Tree is the audit log as a Merkle tree (RFC 6962/9162 hashing, through
// golang.org/x/mod/sumdb/tlog): each event, as written on the topic, is a
// leaf, so anyone holding a checkpoint can check that an event is in the
// log and that a later log extends an earlier one. It keeps tlog's stored
// hashes (two per event) in memory, or, for a trail with a disk index,
// only those not yet saved: the older ones are read back from the index.
type Tree struct {
	mu     sync.RWMutex
	base   int64 // stored index of hashes[0]; below it, on disk
	hashes []tlog.Hash
	n      int64
	older  func(idx []int64) ([]tlog.Hash, error) // the hashes below base: a disk index's, or a verifier's file
}

func (t *Tree) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		var saved []int // positions in idx of hashes below base
		for i, x := range idx {
			switch {
			case x >= t.base+int64(len(t.hashes)):
				return nil, fmt.Errorf("audit tree: hash %d not stored (base %d, %d in memory, %d leaves)", x, t.base, len(t.hashes), t.n)
			case x >= t.base:
				out[i] = t.hashes[x-t.base]
			default:
				saved = append(saved, i)
			}
		}
		if len(saved) == 0 {
			return out, nil
		}
		if t.older == nil {
			return nil, fmt.Errorf("audit tree: hash %d not stored", idx[saved[0]])
		}
		xs := make([]int64, len(saved))
		for j, i := range saved {
			xs[j] = idx[i]
		}
		hs, err := t.older(xs)
		if err != nil {
			return nil, err
		}
		for j, i := range saved {
			out[i] = hs[j]
		}
		return out, nil
	})
}

// Append adds an event (its bytes as on the topic) and returns its index.
func (t *Tree) Append(event []byte) (int64, error) { return t.AppendHash(tlog.RecordHash(event)) }

// AppendHash adds an event by its record hash, for a caller that has
// already hashed it.
func (t *Tree) AppendHash(leaf tlog.Hash) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := tlog.StoredHashesForRecordHash(t.n, leaf, t.reader())
	if err != nil {
		return 0, err
	}
	t.hashes = append(t.hashes, hs...)
	t.n++
	return t.n - 1, nil
}

// Size is the number of events.
func (t *Tree) Size() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n
}

// Root is the tree hash over the first n events.
func (t *Tree) Root(n int64) (tlog.Hash, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if n > t.n {
		return tlog.Hash{}, fmt.Errorf("audit tree: %d events, not %d", t.n, n)
	}
	return tlog.TreeHash(n, t.reader())
}

// Inclusion proves that event i is in the tree of the first n events.
func (t *Tree) Inclusion(i, n int64) (tlog.RecordProof, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return tlog.ProveRecord(n, i, t.reader())
}

// Consistency proves that the tree of n events extends the tree of m.
func (t *Tree) Consistency(m, n int64) (tlog.TreeProof, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return tlog.ProveTree(n, m, t.reader())
}

// LeafHash is the record hash of leaf i.
func (t *Tree) LeafHash(i int64) (tlog.Hash, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if i < 0 || i >= t.n {
		return tlog.Hash{}, fmt.Errorf("audit tree: no leaf %d in %d", i, t.n)
	}
	hs, err := t.reader().ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// unsaved returns the hashes a disk index does not hold in full yet, from
// stored index from on.
func (t *Tree) unsaved() (from int64, hs []tlog.Hash) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.base, t.hashes
}

// saved forgets the hashes below stored index upTo, which the disk index
// now holds.
func (t *Tree) saved(upTo int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if upTo <= t.base {
		return
	}
	// A copy, so the saved hashes' array is released.
	t.hashes = append([]tlog.Hash(nil), t.hashes[upTo-t.base:]...)
	t.base = upTo
}
