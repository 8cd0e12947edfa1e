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
// hashes in memory (two per event).
type Tree struct {
	mu     sync.RWMutex
	hashes []tlog.Hash
	n      int64
}

func (t *Tree) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x >= int64(len(t.hashes)) {
				return nil, fmt.Errorf("audit tree: hash %d not stored", x)
			}
			out[i] = t.hashes[x]
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
func (t *Tree) LeafHash(i int64) tlog.Hash {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.hashes[tlog.StoredHashIndex(0, i)]
}
