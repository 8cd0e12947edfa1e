package seal

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// tlog (the Go checksum database's log) is an independent implementation of
// the same hashing: our roots and paths must be its roots and proofs.
func TestMerkleAgreesWithTlog(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var leaves []Hash
			var stored []tlog.Hash
			for i := range n {
				data := fmt.Appendf(nil, "record %d", i)
				leaves = append(leaves, LeafHash(data))
				hs, err := tlog.StoredHashes(int64(i), data, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
					out := make([]tlog.Hash, len(idx))
					for j, x := range idx {
						out[j] = stored[x]
					}
					return out, nil
				}))
				if err != nil {
					t.Fatal(err)
				}
				stored = append(stored, hs...)
			}
			reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
				out := make([]tlog.Hash, len(idx))
				for j, x := range idx {
					out[j] = stored[x]
				}
				return out, nil
			})
			tr := buildTree(leaves)
			want, err := tlog.TreeHash(int64(n), reader)
			if err != nil {
				t.Fatal(err)
			}
			if tr.root() != want {
				t.Fatalf("root %x, tlog says %x", tr.root(), want)
			}
			for i := range n {
				p := tr.path(i)
				proof := make(tlog.RecordProof, len(p))
				for j := range p {
					proof[j] = p[j]
				}
				if err := tlog.CheckRecord(proof, int64(n), want, int64(i), leaves[i]); err != nil {
					t.Fatalf("leaf %d: tlog rejects our path: %v", i, err)
				}
				got, err := RootFromPath(leaves[i], uint64(i), uint64(n), p)
				if err != nil || got != want {
					t.Fatalf("leaf %d: RootFromPath %x, %v", i, got, err)
				}
			}
		})
	}
}

func TestRootFromPathRejectsBadShapes(t *testing.T) {
	leaves := []Hash{LeafHash([]byte("a")), LeafHash([]byte("b")), LeafHash([]byte("c"))}
	tr := buildTree(leaves)
	p := tr.path(1)
	for _, tc := range []struct {
		name        string
		index, size uint64
		path        []Hash
	}{
		{"index past size", 3, 3, p},
		{"path too long", 1, 3, append(p, p[0])},
		{"path too short", 1, 3, p[:1]},
		{"size of one with a path", 0, 1, p},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := RootFromPath(leaves[1], tc.index, tc.size, tc.path); err == nil && r == tr.root() {
				t.Fatal("accepted")
			}
		})
	}
}
