package audit

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// Mismatch says where a replayed log first disagrees with a checkpoint: the
// events before Size are not the ones the checkpoint signed.
type Mismatch struct {
	Checkpoint int   // which checkpoint, in order
	Size       int64 // the size it claims
	Reason     string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("checkpoint %d (size %d): %s", m.Checkpoint, m.Size, m.Reason)
}

// ErrMismatch wraps every *Mismatch.
var ErrMismatch = errors.New("audit log does not match its checkpoints")

func (m *Mismatch) Unwrap() error { return ErrMismatch }

// Verify replays events (in topic order) into a fresh tree and checks every
// signed checkpoint against it: its signature with v, its size within the
// log, its root equal to the replayed root at that size. It returns the
// number of events and the first disagreement.
func Verify(events [][]byte, checkpoints [][]byte, v note.Verifier) (int64, error) {
	var t Tree
	for _, e := range events {
		if _, err := t.Append(e); err != nil {
			return 0, err
		}
	}
	for i, raw := range checkpoints {
		c, err := OpenCheckpoint(raw, v)
		if err != nil {
			return t.Size(), &Mismatch{Checkpoint: i, Reason: err.Error()}
		}
		if c.Size > t.Size() {
			return t.Size(), &Mismatch{Checkpoint: i, Size: c.Size, Reason: fmt.Sprintf("signs %d events, the log holds %d: events were dropped", c.Size, t.Size())}
		}
		root, err := t.Root(c.Size)
		if err != nil {
			return t.Size(), err
		}
		if root != c.Root {
			return t.Size(), &Mismatch{Checkpoint: i, Size: c.Size, Reason: "root differs: an event before this size was altered, inserted or dropped"}
		}
	}
	return t.Size(), nil
}
