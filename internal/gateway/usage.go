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
	adds  int
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
	if u.trail != nil {
		select {
		case <-u.trail.Ready():
		default:
			return 0, ErrUsageLagging
		}
	}
	// This instance's accesses the trail has not read yet, before what the
	// trail has read: one read in between is then counted twice (a refusal
	// too many), never missed (an access past the ceiling).
	u.mu.Lock()
	mine, err := u.prune([3]string{requester, purpose, citizen}, since)
	u.mu.Unlock()
	if err != nil || u.trail == nil {
		return mine, err
	}
	n, err := u.trail.Accesses(citizen, requester, purpose, since)
	return n + mine, err
}

// prune forgets k's accesses that are outside the window or that the trail
// has read, and returns how many remain; u.mu is held.
func (u *Usage) prune(k [3]string, since time.Time) (int, error) {
	var err error
	mine := slices.DeleteFunc(u.seen[k], func(a access) bool {
		if !a.at.After(since) {
			return true
		}
		if u.trail == nil {
			return false
		}
		_, read, ierr := u.trail.Index(a.id)
		err = errors.Join(err, ierr)
		return read
	})
	if len(mine) == 0 {
		delete(u.seen, k)
	} else {
		u.seen[k] = mine
	}
	return len(mine), err
}

// sweepEvery is how many accesses Add records between two sweeps of every
// key, so that a (requester, purpose, citizen) never asked for again does
// not keep its accesses for the life of the gateway.
const sweepEvery = 4096

// Add records one access, whose audit event has id.
func (u *Usage) Add(requester, purpose, citizen string, now time.Time, id string) {
	if p, ok := u.rules.Purpose(purpose); !ok || p.Window <= 0 {
		return // no ceiling counts it
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	k := [3]string{requester, purpose, citizen}
	u.seen[k] = append(u.seen[k], access{now, id})
	if u.adds++; u.adds%sweepEvery != 0 {
		return
	}
	for k := range u.seen {
		if p, ok := u.rules.Purpose(k[1]); ok {
			u.prune(k, now.Add(-p.Window)) // an index error leaves an access counted: the safe side
		}
	}
}
