package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Appender writes events to the audit log: a *Log. An error means nothing
// an event records may be released; Void records that an event appended
// earlier released nothing after all.
type Appender interface {
	Append(ctx context.Context, ev Event) (Receipt, error)
	Void(ev Event, code string)
}

// ErrUnsettled: an event was written but the log could not be read up to
// it, so how its claims were settled is unknown. Nothing it records may be
// released; a void of it has been handed to the log. The caller logs it:
// unlike an append that failed, nothing else has.
var ErrUnsettled = errors.New("audit event not settled")

// settleTimeout bounds the wait for the log to settle a claim: the trail
// reading up to the event.
const settleTimeout = 5 * time.Second

// Record appends ev through w, a writer of the log t follows, and returns
// once the log has settled ev's claims (claims.go): void is "" if what ev
// records stands, else the code the log voided it with (a limit or a
// token another writer's event took first). from is how far t had read
// (Next) when the checks ev's answer rests on began: if every record
// between there and ev is w's own, those checks saw what the log holds
// and nothing is read. An error means nothing ev records may be released:
// w's own (wrapping ErrUnavailable or ErrClosed), or ErrUnsettled.
func (t *Trail) Record(ctx context.Context, w Appender, ev Event, from int64) (void string, rc Receipt, err error) {
	rc, err = w.Append(ctx, ev)
	if err != nil {
		return "", rc, err
	}
	if from >= rc.Since {
		// Every record between what the checks read and this event is
		// w's own: the checks were the log's.
		return "", rc, nil
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if void, err = t.settle(ctx, ev.ID, rc.Offset); err != nil {
		w.Void(ev, VoidUnavailable)
		return "", rc, fmt.Errorf("%w: %s: %w", ErrUnsettled, ev.ID, err)
	}
	return void, rc, nil
}

// settle reads the log up to offset, where event id landed, and says how
// the log settled it.
func (t *Trail) settle(ctx context.Context, id string, offset int64) (string, error) {
	if err := t.CatchUp(ctx, offset); err != nil {
		return "", err
	}
	void, found, err := t.Outcome(id)
	if err == nil && !found {
		err = errors.New("the trail read past the event without finding it")
	}
	return void, err
}
