package citizenview

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
)

// Limits reserves uses of the purposes' frequency ceilings and of
// consents. Counts come from the audit log (audit.Trail.Uses and
// ConsentUses: every gateway's accesses, across restarts) plus this
// instance's holds that its trail has not read yet: uses reserved for
// requests in flight, and those written since the trail last read. A
// citizen's requests take one lock between counting and holding, so
// fifty at once cannot all count the same past; across instances the
// log settles who came first (audit/claims.go, audit.Trail.Record).
type Limits struct {
	trail   *audit.Trail
	seed    maphash.Seed
	stripes [limitStripes]stripe
}

// limitStripes spreads the citizens over locks: requests about one citizen
// wait for each other, about different ones seldom.
const limitStripes = 256

type stripe struct {
	mu    sync.Mutex
	holds map[string][]*Hold // limit key → holds
	adds  int
}

// Hold is one use reserved for a request: in flight until its event is
// written (offset -1), then counted until the trail has read it.
type Hold struct {
	at     time.Time
	offset int64
	s      *stripe
	keys   []string
}

// NewLimits counts from trail.
func NewLimits(trail *audit.Trail) *Limits {
	l := &Limits{trail: trail, seed: maphash.MakeSeed()}
	for i := range l.stripes {
		l.stripes[i].holds = map[string][]*Hold{}
	}
	return l
}

// Locked is a citizen's stripe, held from counting to holding.
type Locked struct {
	l *Limits
	s *stripe
}

// Lock takes citizen's lock; Unlock releases it. Count and Hold are
// called in between.
func (l *Limits) Lock(citizen string) (*Locked, error) {
	select {
	case <-l.trail.Ready():
	default:
		// Counting from a trail still replaying would let a requester
		// past its ceiling: fail closed.
		return nil, ErrUsageLagging
	}
	s := &l.stripes[maphash.String(l.seed, citizen)%limitStripes]
	s.mu.Lock()
	return &Locked{l, s}, nil
}

// Unlock releases the citizen's lock.
func (k *Locked) Unlock() { k.s.mu.Unlock() }

// CeilingKey and ConsentKey name what a hold counts against.
func CeilingKey(citizen, requester, purpose string) string {
	return "c\x00" + citizen + "\x00" + requester + "\x00" + purpose
}

// ConsentKey is the key of a consent's uses.
func ConsentKey(id string) string { return "k\x00" + id }

// Count returns the uses of key at or after since: this instance's holds
// the trail has not read, then what the trail has read (logged). The
// holds first: one read in between is then counted twice (a refusal too
// many), never missed (a use past the limit).
func (k *Locked) Count(key string, since time.Time, logged func() (int, error)) (int, error) {
	read := k.l.trail.Next()
	mine := k.prune(key, since, read)
	n, err := logged()
	return n + mine, err
}

// prune forgets key's holds outside the window or read by the trail (below
// offset read), and returns how many remain.
func (k *Locked) prune(key string, since time.Time, read int64) int {
	hs := k.s.holds[key]
	kept := hs[:0]
	for _, h := range hs {
		if h.at.Before(since) || (h.offset >= 0 && h.offset < read) {
			continue
		}
		kept = append(kept, h)
	}
	clear(hs[len(kept):])
	if len(kept) == 0 {
		delete(k.s.holds, key)
	} else {
		k.s.holds[key] = kept
	}
	return len(kept)
}

// sweepEvery is how many holds a stripe takes between two sweeps of all its
// keys, so that a key never asked for again does not keep its holds.
const sweepEvery = 1024

// Hold reserves one use of each key for a request made at.
func (k *Locked) Hold(at time.Time, keys ...string) *Hold {
	h := &Hold{at: at, offset: -1, s: k.s, keys: keys}
	for _, key := range keys {
		k.s.holds[key] = append(k.s.holds[key], h)
	}
	if k.s.adds++; k.s.adds%sweepEvery == 0 {
		read := k.l.trail.Next()
		for key := range k.s.holds {
			k.prune(key, time.Time{}, read)
		}
	}
	return h
}

// Written records where the held use's event landed: it counts until the
// trail has read that far.
func (h *Hold) Written(offset int64) {
	if h == nil {
		return
	}
	h.s.mu.Lock()
	h.offset = offset
	h.s.mu.Unlock()
}

// Release gives the use back: the request failed before its event was
// written. (If the event lands all the same, the log counts it until the
// void the audit log writes for it.)
func (h *Hold) Release() {
	if h == nil {
		return
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	for _, key := range h.keys {
		hs := h.s.holds[key]
		for i, x := range hs {
			if x == h {
				hs = append(hs[:i], hs[i+1:]...)
				break
			}
		}
		if len(hs) == 0 {
			delete(h.s.holds, key)
		} else {
			h.s.holds[key] = hs
		}
	}
}
