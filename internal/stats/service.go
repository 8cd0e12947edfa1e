package stats

import (
	"sync"
	"time"
)

// DefaultPeriod is how long a snapshot serves: answers within it are cut
// from the same tables, and a new one sees what the view took in since.
const DefaultPeriod = time.Hour

// Service hands out the current snapshot.
type Service struct {
	Index  *Index
	Period time.Duration
	Now    func() time.Time

	mu   sync.Mutex
	snap *Snapshot
}

// Snapshot returns the snapshot of the current period, starting a new
// one when the last is older than the period, or was built under another
// member registry: a revoked publisher's records leave statistics at once,
// as they leave views.
func (s *Service) Snapshot() *Snapshot {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	period := s.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	t := now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap == nil || t.Sub(s.snap.At) >= period || t.Before(s.snap.At) || s.snap.registry != s.Index.registry() {
		s.snap = s.Index.Freeze(t)
	}
	return s.snap
}
