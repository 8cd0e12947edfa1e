package gateway

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/policy"
)

// ErrUsageLagging: the audit trail the counts come from has not caught up.
var ErrUsageLagging = errors.New("past accesses are still being read from the audit log")

// Usage counts accesses per (requester, purpose, citizen) for the purposes'
// frequency ceilings. With a trail it counts from the audit log, so the
// ceilings hold across gateway instances and restarts: what every gateway
// wrote to passerelle.audit.v1, plus this instance's own accesses that its
// trail, FollowLag behind, has not read yet. Without one it counts this
// instance's accesses since it started.
type Usage struct {
	rules *policy.RuleSet
	trail *audit.Trail
	mu    sync.Mutex
	seen  map[[3]string][]access
}

type access struct {
	at time.Time
	id string // the audit event's id
}

// NewUsage counts within each purpose's window, from trail if not nil.
func NewUsage(rules *policy.RuleSet, trail *audit.Trail) *Usage {
	return &Usage{rules: rules, trail: trail, seen: map[[3]string][]access{}}
}

// Count returns the accesses within the purpose's window before now.
func (u *Usage) Count(requester, purpose, citizen string, now time.Time) (int, error) {
	p, ok := u.rules.Purpose(purpose)
	if !ok || p.Window <= 0 {
		return 0, nil
	}
	since := now.Add(-p.Window)
	n := 0
	if u.trail != nil {
		select {
		case <-u.trail.Ready():
		default:
			return 0, ErrUsageLagging
		}
		var err error
		if n, err = u.trail.Accesses(citizen, requester, purpose, since); err != nil {
			return 0, err
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	k := [3]string{requester, purpose, citizen}
	var err error
	mine := slices.DeleteFunc(u.seen[k], func(a access) bool {
		if !a.at.After(since) {
			return true
		}
		if u.trail != nil {
			_, read, ierr := u.trail.Index(a.id) // counted above
			err = errors.Join(err, ierr)
			return read
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	if len(mine) == 0 {
		delete(u.seen, k)
	} else {
		u.seen[k] = mine
	}
	return n + len(mine), nil
}

// Add records one access, whose audit event has id.
func (u *Usage) Add(requester, purpose, citizen string, now time.Time, id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := [3]string{requester, purpose, citizen}
	u.seen[k] = append(u.seen[k], access{now, id})
}
