package seal

import (
	"crypto/sha256"
	"errors"
)

// Merkle tree hashing as RFC 9162 §2.1 (RFC 6962's): a leaf is
// SHA-256(0x00‖data), an inner node SHA-256(0x01‖left‖right), and a tree of
// n leaves splits at the largest power of two below n. Built bottom-up,
// pairing neighbours and carrying an odd last node up unchanged, which gives
// the same tree; tests check it against golang.org/x/mod/sumdb/tlog.

// Hash is a node of the tree.
type Hash = [sha256.Size]byte

// LeafHash hashes one leaf.
func LeafHash(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

func nodeHash(left, right Hash) Hash {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[1+sha256.Size:], right[:])
	return sha256.Sum256(buf[:])
}

// tree holds every level of a batch's tree, leaves first.
type tree [][]Hash

func buildTree(leaves []Hash) tree {
	t := tree{leaves}
	for level := leaves; len(level) > 1; {
		next := make([]Hash, (len(level)+1)/2)
		for i := 0; i+1 < len(level); i += 2 {
			next[i/2] = nodeHash(level[i], level[i+1])
		}
		if len(level)%2 == 1 {
			next[len(next)-1] = level[len(level)-1]
		}
		t = append(t, next)
		level = next
	}
	return t
}

func (t tree) root() Hash { return t[len(t)-1][0] }

// path is the inclusion proof of leaf i, from the leaf upwards.
func (t tree) path(i int) []Hash {
	var p []Hash
	for _, level := range t[:len(t)-1] {
		if sib := i ^ 1; sib < len(level) {
			p = append(p, level[sib])
		}
		i >>= 1
	}
	return p
}

var errBadPath = errors.New("inclusion path does not fit the tree")

// RootFromPath recomputes the root of a tree of size leaves from leaf index's
// hash and its inclusion path, by RFC 9162 §2.1.3.2.
func RootFromPath(leaf Hash, index, size uint64, path []Hash) (Hash, error) {
	return rootFromPath(leaf, index, size, path, nodeHash)
}

// rootFromPath is RootFromPath hashing inner nodes with node, which a
// verifier memoizes.
func rootFromPath(leaf Hash, index, size uint64, path []Hash, node func(left, right Hash) Hash) (Hash, error) {
	if index >= size {
		return Hash{}, errBadPath
	}
	fn, sn, r := index, size-1, leaf
	for _, p := range path {
		if sn == 0 {
			return Hash{}, errBadPath
		}
		if fn&1 == 1 || fn == sn {
			r = node(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = node(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Hash{}, errBadPath
	}
	return r, nil
}
