package audit

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
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
func (t *Tree) Append(event []byte) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := tlog.StoredHashes(t.n, event, t.reader())
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

// Checkpoint is a signed statement of the tree's size and root, in the
// C2SP signed-note checkpoint format ("<origin>\n<size>\n<base64 root>\n"
// and signature lines), which witnesses and auditors keep.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// ErrCheckpoint: a checkpoint does not parse or its signature fails.
var ErrCheckpoint = errors.New("invalid audit checkpoint")

// Sign returns the signed note of c.
func (c Checkpoint) Sign(s note.Signer) ([]byte, error) {
	text := fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
	return note.Sign(&note.Note{Text: text}, s)
}

// OpenCheckpoint verifies a signed checkpoint with the log's verifier key.
func OpenCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, fmt.Errorf("%w: %d lines", ErrCheckpoint, len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return Checkpoint{}, fmt.Errorf("%w: size %q", ErrCheckpoint, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != len(tlog.Hash{}) {
		return Checkpoint{}, fmt.Errorf("%w: root %q", ErrCheckpoint, lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: size}
	copy(c.Root[:], root)
	return c, nil
}
