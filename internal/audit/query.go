package audit

import (
	"time"
)

// Filter selects events of the trail. Zero fields match everything.
type Filter struct {
	Citizen   string // audit pseudonym
	Requester string
	Purpose   string
	Kinds     []string
	From, To  time.Time // To is exclusive
	// After skips leaves up to and including this index: the cursor of
	// the previous page (-1 for the first).
	After int64
	Limit int
}

// MaxPage bounds one page of events.
const MaxPage = 10_000

// Events returns the events matching f in log order, at most f.Limit (or
// MaxPage), and whether more follow.
func (t *Trail) Events(f Filter) ([]Entry, bool) {
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = MaxPage
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := []Entry{}
	match := func(e *Entry) bool {
		switch {
		case e.Index <= f.After,
			f.Citizen != "" && e.Citizen != f.Citizen,
			f.Requester != "" && e.Requester != f.Requester,
			f.Purpose != "" && e.Purpose != f.Purpose,
			!f.From.IsZero() && e.Time.Before(f.From),
			!f.To.IsZero() && !e.Time.Before(f.To):
			return false
		}
		if len(f.Kinds) == 0 {
			return true
		}
		for _, k := range f.Kinds {
			if e.Kind == k {
				return true
			}
		}
		return false
	}
	visit := func(e *Entry) bool { // false: the page is full and one more matched
		if !match(e) {
			return true
		}
		if len(out) == f.Limit {
			return false
		}
		out = append(out, *e)
		return true
	}
	if f.Citizen != "" {
		for _, i := range t.byCitizen[f.Citizen] {
			if !visit(&t.events[i]) {
				return out, true
			}
		}
		return out, false
	}
	for i := max(f.After+1, 0); i < int64(len(t.events)); i++ {
		if !visit(&t.events[i]) {
			return out, true
		}
	}
	return out, false
}

// Event returns the event at leaf index i.
func (t *Trail) Event(i int64) (Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if i < 0 || i >= int64(len(t.events)) {
		return Entry{}, false
	}
	return t.events[i], true
}
