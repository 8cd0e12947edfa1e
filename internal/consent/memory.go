// Package consent holds the consent state the gateway decides with, built
// from passerelle.consent.v1.
package consent

import (
	"sync"

	"github.com/passerelle-bus/passerelle/policy"
)

// Memory keeps consents in RAM. The uses made of them are not here but in
// the audit log, where every gateway's accesses are (audit.Trail).
type Memory struct {
	mu   sync.Mutex
	byID map[string]*policy.Consent
	by   map[[3]string]string // citizen, requester, purpose → id of the latest
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{byID: map[string]*policy.Consent{}, by: map[[3]string]string{}}
}

// Why a change is refused (Apply).
const (
	RefusedStale     = "stale"     // not newer than the state held
	RefusedLifecycle = "lifecycle" // a revoked or expired consent does not come back
)

// Apply takes a new state of a consent, which must be prepared, if it is
// newer than the one held (a higher version, or at the same version a
// status further along the lifecycle) and the lifecycle allows it: a
// revoked or expired consent stays so. It returns "" if applied, the
// same state again included, else why not.
func (m *Memory) Apply(c *policy.Consent) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.byID[c.ID]
	if cur != nil {
		switch {
		case cur.Version == c.Version && cur.Status == c.Status:
			return "" // the same change, read back
		case !orderLess(order(cur), order(c)):
			return RefusedStale
		case final(cur.Status) && c.Status != cur.Status:
			return RefusedLifecycle
		}
	}
	m.byID[c.ID] = c
	m.by[[3]string{c.Citizen, c.Requester, c.Purpose}] = c.ID
	return ""
}

// order places a consent's states: by version, then, for two changes made
// at once from the same version, the one further along the lifecycle.
func order(c *policy.Consent) [2]int64 {
	return [2]int64{c.Version, int64(rank[c.Status])}
}

func orderLess(a, b [2]int64) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

var rank = map[string]int{policy.ConsentActive: 0, policy.ConsentPaused: 1, policy.ConsentExpired: 2, policy.ConsentRevoked: 3}

// final: a consent in this status never changes again.
func final(status string) bool {
	return status == policy.ConsentRevoked || status == policy.ConsentExpired
}

// Lookup returns the latest consent of citizen to requester for purpose.
func (m *Memory) Lookup(citizen, requester, purpose string) *policy.Consent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byID[m.by[[3]string{citizen, requester, purpose}]]
}

// ForCitizen lists a citizen's consents.
func (m *Memory) ForCitizen(citizen string) []*policy.Consent {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*policy.Consent
	for _, c := range m.byID {
		if c.Citizen == citizen {
			out = append(out, c)
		}
	}
	return out
}

// Get returns a consent by id.
func (m *Memory) Get(id string) (*policy.Consent, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.byID[id]
	return c, ok
}
