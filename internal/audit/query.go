package audit

import (
	"slices"
	"strings"
	"time"

	"github.com/valyala/fastjson"
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
	visit := func(e *Entry) bool { // false: the page is full and one more matched
		if !f.matches(e) {
			return true
		}
		if len(out) == f.Limit {
			return false
		}
		out = append(out, *e)
		return true
	}
	if f.Citizen != "" {
		for _, i := range t.citizenLeaves(f.Citizen) {
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

func (f *Filter) matches(e *Entry) bool {
	switch {
	case e.Index <= f.After,
		f.Citizen != "" && e.Citizen != f.Citizen,
		f.Requester != "" && e.Requester != f.Requester,
		f.Purpose != "" && e.Purpose != f.Purpose,
		!f.From.IsZero() && e.Time.Before(f.From),
		!f.To.IsZero() && !e.Time.Before(f.To):
		return false
	}
	return len(f.Kinds) == 0 || slices.Contains(f.Kinds, e.Kind)
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

// maxInterned bounds the distinct values (and field lists) shared between
// events; beyond it a value is kept per event.
const maxInterned = 1 << 16

// keep indexes the event parseEvent has just parsed into doc; a field of
// another type only costs the query view that field. (encoding/json took
// a third of the trail's time.)
//
// Most fields repeat from event to event (a requester, a purpose, a rule, a
// list of fields, a citizen's pseudonym): they are shared, which took what
// an event costs the gateway from 895 bytes to 560 (BenchmarkTrailMemory).
// Not with the unique package: its weak handles cost more than the rest
// of the trail for values that are mostly new, as pseudonyms are.
func (t *Trail) keep(index int64, r Record, doc *fastjson.Value) {
	str := func(k string) string { return t.intern(doc.GetStringBytes(k)) }
	strs := func(k string) []string {
		vs := doc.GetArray(k)
		if len(vs) == 0 {
			return nil
		}
		var key strings.Builder
		for _, v := range vs {
			key.Write(v.GetStringBytes())
			key.WriteByte(0)
		}
		if out, ok := t.lists[key.String()]; ok {
			return out
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = t.intern(v.GetStringBytes())
		}
		if len(t.lists) < maxInterned {
			t.lists[key.String()] = out
		}
		return out
	}
	ev := Event{ID: string(r.Key), Writer: str("writer"), Seq: doc.GetInt64("seq"), Kind: str("kind"), Requester: str("requester"),
		KeyID: str("key_id"), Purpose: str("purpose"), LegalBasis: str("legal_basis"),
		Decision: str("decision"), Code: str("code"), Rule: str("rule"), PolicyVersion: str("policy_version"),
		Released: strs("released"), Withheld: strs("withheld")}
	ev.Time, _ = time.Parse(time.RFC3339Nano, string(doc.GetStringBytes("time")))
	if q := doc.GetObject("query"); q != nil {
		ev.Query = map[string]string{}
		q.Visit(func(k []byte, v *fastjson.Value) { ev.Query[string(k)] = string(v.GetStringBytes()) })
	}
	if c := doc.GetStringBytes("citizen"); len(c) > 0 {
		ci := t.byCitizen[string(c)]
		if ci == nil {
			ci = &citizenLeaves{name: string(c)}
			t.byCitizen[ci.name] = ci
		}
		ev.Citizen = ci.name
		ci.leaves = append(ci.leaves, index)
	}
	t.events = append(t.events, Entry{Index: index, Offset: r.Offset, Event: ev})
	t.byID[ev.ID] = index
}

// citizenLeaves are the leaves about one citizen; name is the pseudonym
// the citizen's events share.
type citizenLeaves struct {
	name   string
	leaves []int64
}

// intern returns b as a string shared with the other events that hold it,
// for the first maxInterned distinct values.
func (t *Trail) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := t.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(t.strs) < maxInterned {
		t.strs[s] = s
	}
	return s
}

// Accesses counts the views of citizen by requester for purpose, at or
// after since, that released data: what the purposes' frequency ceilings
// count.
func (t *Trail) Accesses(citizen, requester, purpose string, since time.Time) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	f := Filter{Citizen: citizen, Requester: requester, Purpose: purpose, From: since, After: -1}
	n := 0
	for _, i := range t.citizenLeaves(citizen) {
		e := &t.events[i]
		if e.Kind == KindView && (e.Decision == "allow" || e.Decision == "partial") && f.matches(e) {
			n++
		}
	}
	return n
}

func (t *Trail) citizenLeaves(citizen string) []int64 {
	if ci := t.byCitizen[citizen]; ci != nil {
		return ci.leaves
	}
	return nil
}
