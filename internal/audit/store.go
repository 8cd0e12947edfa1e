package audit

import (
	"context"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
)

// A trail that keeps its events (TrailOptions.KeepEvents) keeps them in
// one of two stores: all of them in memory (NewTrail, memoryStore), or the
// recent ones in memory and the others in a bbolt file that a restart
// resumes from (OpenTrail, boltStore). What the trail does with them, the
// claims it settles and the questions it answers, is written once, over
// eventStore: a store only keeps, finds and counts.

// An eventStore holds the events of a trail, by leaf, id and citizen, with
// the void each claim settled. The trail's mutex guards it: add and void
// are called with it held for writing, the other methods with it held at
// least for reading.
type eventStore interface {
	// add keeps e, the event at the trail's newest leaf, raw its bytes as
	// on the topic; a retry is a second copy, which its id does not name.
	add(e Entry, raw []byte, retry bool)
	// void marks leaf i, kept already, as having released nothing.
	void(i int64, code string)
	// entry is the event at leaf i; ok is false if no event is kept there.
	entry(i int64) (e Entry, ok bool, err error)
	// index is the leaf of the first copy of event id, and its void.
	index(id string) (leaf int64, void string, ok bool, err error)
	// events visits in log order, until visit returns false, the events
	// after leaf f.After that may match f (through the citizen index when
	// f names one), and reports whether visit stopped it.
	events(f Filter, visit func(*Entry) bool) (stopped bool, err error)
	// count counts the events of citizen that u counts.
	count(citizen string, u claimUses) (int, error)
	// leafOf is the leaf of writer's event seq, one that the writer's
	// state no longer holds (writerState.leaves).
	leafOf(writer string, seq int64) (int64, error)

	// writable is ErrClosed once the store is closed: the trail then takes
	// no more records.
	writable() error
	// gathered is told that t took a record: a store that saves may save.
	gathered(t *Trail) error
	// checkResume fails if the store resumed t's reading at offset next,
	// past the topic's end (Trail.CheckResume).
	checkResume(ctx context.Context, client *bus.Client, t *Trail, next int64) error
	// close saves what t gathered and releases the store.
	close(t *Trail) error
}

// claimUses says which of a citizen's events are uses of a limit: views
// that released data at or after since, are not void, and are by
// requester for purpose (a frequency ceiling) or, byConsent, under
// consent. A value, not a func: passed through the interface, a closure
// would be allocated for every count.
type claimUses struct {
	since              time.Time
	requester, purpose string
	byConsent          bool
	consent            string
}

func (u *claimUses) counts(e *Entry) bool {
	if !released(e.Kind, e.Decision) || e.Time.Before(u.since) || e.Void != "" {
		return false
	}
	if u.byConsent {
		return e.Consent != nil && e.Consent.ID == u.consent
	}
	return e.Requester == u.requester && e.Purpose == u.purpose
}

var (
	_ eventStore = (*memoryStore)(nil)
	_ eventStore = (*boltStore)(nil)
)
