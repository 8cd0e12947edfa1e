// Package consent holds the consent state the gateway decides with.
package consent

import (
	"sync"
	"time"

	"github.com/passerelle-bus/passerelle/policy"
)

// Memory keeps consents in RAM, with their uses in the current period.
// (The durable store, fed by the compacted passerelle.consent.v1 topic,
// builds on it.)
type Memory struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[string]*entry
	by   map[[3]string]string // citizen, requester, purpose → id of the latest
}

type entry struct {
	c    *policy.Consent
	uses []time.Time
}

// NewMemory returns an empty store; now is the clock for periods.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, byID: map[string]*entry{}, by: map[[3]string]string{}}
}

// Put records or replaces a consent; it must be prepared.
func (m *Memory) Put(c *policy.Consent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.byID[c.ID]
	if e == nil {
		e = &entry{}
		m.byID[c.ID] = e
	}
	e.c = c
	m.by[[3]string{c.Citizen, c.Requester, c.Purpose}] = c.ID
}

// SetStatus changes a consent's status (REVOKED, PAUSED, ACTIVE); false if
// there is no such consent.
func (m *Memory) SetStatus(id, status string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.byID[id]
	if e == nil {
		return false
	}
	c := *e.c
	c.Status = status
	e.c = &c
	return true
}

// Lookup implements the gateway's ConsentLookup.
func (m *Memory) Lookup(citizen, requester, purpose string) (*policy.Consent, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.byID[m.by[[3]string{citizen, requester, purpose}]]
	if e == nil {
		return nil, 0
	}
	return e.c, m.usesLocked(e)
}

func (m *Memory) usesLocked(e *entry) int {
	if e.c.Mode != policy.ModePeriodic || e.c.Period <= 0 {
		return len(e.uses)
	}
	since := m.now().Add(-e.c.Period)
	n := 0
	for _, t := range e.uses {
		if t.After(since) {
			n++
		}
	}
	return n
}

// Use counts one use of a consent.
func (m *Memory) Use(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.byID[id]; e != nil {
		e.uses = append(e.uses, m.now())
	}
}

// ForCitizen lists a citizen's consents.
func (m *Memory) ForCitizen(citizen string) []*policy.Consent {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*policy.Consent
	for _, e := range m.byID {
		if e.c.Citizen == citizen {
			out = append(out, e.c)
		}
	}
	return out
}

// Get returns a consent by id.
func (m *Memory) Get(id string) (*policy.Consent, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.byID[id]
	if e == nil {
		return nil, false
	}
	return e.c, true
}
