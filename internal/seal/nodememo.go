package seal

import "sync"

// nodeMemo remembers inner node hashes of Merkle paths. Every record of a
// batch of n carries a path of log2(n) hashes, and neighbours' paths
// share all but their lowest levels: a verifier reading a batch would
// otherwise hash the root's children n times each. A memo entry is the
// hash of its own key, computed here, so nothing a record carries can put
// a wrong one in; the path is still checked hash by hash against the
// signed root, only not rehashed. Sharded: each domain's reader verifies
// on its own goroutine.
type nodeMemo struct {
	shards [16]memoShard
}

type memoKey [2 * len(Hash{})]byte

type memoShard struct {
	mu sync.RWMutex
	m  map[memoKey]Hash
}

// maxMemoNodes bounds a shard (about 100 bytes a node); a full shard is
// dropped and refilled by the batches being read.
const maxMemoNodes = 1 << 13

func (m *nodeMemo) node(left, right Hash) Hash {
	var k memoKey
	copy(k[:], left[:])
	copy(k[len(Hash{}):], right[:])
	s := &m.shards[right[0]&15]
	s.mu.RLock()
	h, ok := s.m[k]
	s.mu.RUnlock()
	if ok {
		return h
	}
	h = nodeHash(left, right)
	s.mu.Lock()
	if s.m == nil || len(s.m) >= maxMemoNodes {
		s.m = make(map[memoKey]Hash)
	}
	s.m[k] = h
	s.mu.Unlock()
	return h
}
