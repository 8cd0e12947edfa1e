package audit

import (
	"errors"
	"fmt"
)

// What a replay of the audit topic can find. Each is wrapped in a
// *Finding naming the record; all of them also match ErrTampered.
var (
	// ErrTampered: the log is not the one the gateways wrote. An auditor
	// escalates; a gateway keeps serving but counts and logs it.
	ErrTampered = errors.New("audit log tampered with")
	// ErrForged: an event no gateway signed, or a writer's sequence number
	// reused for other content.
	ErrForged = errors.New("event not signed by a gateway")
	// ErrDropped: events are missing (a gap in a writer's sequence, or a
	// checkpoint that signs more events than precede it).
	ErrDropped = errors.New("events missing")
	// ErrRootMismatch: the events before a checkpoint are not the ones it
	// signed.
	ErrRootMismatch = errors.New("tree root differs from the signed checkpoint")
	// ErrCheckpoint: a checkpoint that does not parse, is of another log,
	// or whose signature is not a gateway's.
	ErrCheckpoint = errors.New("invalid audit checkpoint")
	// ErrMalformedEvent: a record that is not an audit event.
	ErrMalformedEvent = errors.New("not an audit event")
)

// Finding is the place where a replayed audit log departs from what was
// written: the record's offset on the topic, its event id if it has one,
// and what is wrong.
type Finding struct {
	Offset     int64
	Event      string
	Checkpoint bool  // the record is a checkpoint
	Err        error // one of the sentinels above
	Detail     string
}

func (f *Finding) Error() string {
	what := "record"
	switch {
	case f.Checkpoint:
		what = "checkpoint"
	case f.Event != "":
		what = "event " + f.Event
	}
	return fmt.Sprintf("offset %d (%s): %v: %s", f.Offset, what, f.Err, f.Detail)
}

// Unwrap lets errors.Is match both ErrTampered and the specific sentinel.
func (f *Finding) Unwrap() []error { return []error{ErrTampered, f.Err} }
