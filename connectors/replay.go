package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
)

// ReplayStats counts what a replay of dead letters did.
type ReplayStats struct {
	Seen, Mine, Published, StillDead, Gone int
}

// ReplayDeadLetters re-runs this connector's dead letters after their cause
// was fixed: each row is read again from its source (the dead letter holds
// a locator, not the row's personal data) and published, or dead-lettered
// again with its attempt count raised. Offsets are committed in group, so
// a second replay starts after the first. It returns once no dead letter
// has arrived for idle.
func ReplayDeadLetters(ctx context.Context, r *Runner, src Source, reader *bus.GroupReader, idle time.Duration) (ReplayStats, error) {
	var st ReplayStats
	// Rows that fail again are dead-lettered again, onto the topic being
	// read: only letters older than the replay are replayed, or it would
	// chase its own tail.
	start := time.Now().UTC()
	for {
		fctx, cancel := context.WithTimeout(ctx, idle)
		m, err := reader.Fetch(fctx)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return st, nil
		case err != nil:
			return st, err
		}
		st.Seen++
		var dl DeadLetter
		if err := json.Unmarshal(m.Value, &dl); err == nil && dl.Connector == r.Name() && dl.At != "" && dl.Time.Before(start) {
			st.Mine++
			row, err := src.Reread(ctx, dl.At)
			if err != nil {
				// The row is gone from its source (a file rejected whole,
				// a deleted SQL row): nothing to replay.
				st.Gone++
			} else {
				n, err := r.Publish(ctx, []Row{row}, dl.Attempt+1)
				if err != nil {
					return st, fmt.Errorf("replay %s: %w", dl.At, err)
				}
				st.Published += n
				st.StillDead += 1 - n
			}
		}
		if err := reader.Commit(ctx, m); err != nil {
			return st, err
		}
	}
}
