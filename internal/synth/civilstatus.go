package synth

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// Civil-status event types. MARRIAGE covers every change to a union, as
// the register notes them in the margin of the marriage record: marriage,
// PACS, divorce, widowhood.
const (
	EventBirth    = "BIRTH"
	EventMarriage = "MARRIAGE"
	EventDeath    = "DEATH"
	EventAddress  = "ADDRESS"
)

// CivilEvent is one line of the register's event drops: an event and the
// person's full state after it.
type CivilEvent struct {
	ID         string // "EC-<n>": the source key
	Type       string
	RecordedAt time.Time
	Version    int // per person: 1 for the birth, then 2, 3…
	Person     PersonState
	Defect     Defect
}

// PersonState is a person as the register knows them after an event.
// Dates are text so that a defective event can hold a bad one; "" stands
// for null in UsageName, BirthCommune and DeathDate.
type PersonState struct {
	NIR           string
	FamilyName    string
	UsageName     string
	GivenNames    []string
	Sex           string
	BirthDate     string
	BirthCommune  string
	BirthCountry  string
	Nationality   string
	MaritalStatus string
	DeathDate     string
	Address       *Address // nil: no address known
}

// civilEvents writes each person's history (birth, unions, move, death)
// and returns every event in recorded order; a person's versions increase
// along it.
func (g *gen) civilEvents() []CivilEvent {
	r := g.rand(streamCivil)
	// Sorting small keys, not the events themselves: they are large.
	type key struct {
		at       time.Time
		who, ver int32
		i        int
	}
	all := make([]CivilEvent, 0, len(g.people)*5/2) // about 2.3 events a person
	keys := make([]key, 0, cap(all))
	for i := range g.people {
		for _, ev := range g.history(r, &g.people[i]) {
			keys = append(keys, key{ev.RecordedAt, int32(i), int32(ev.Version), len(all)})
			all = append(all, ev)
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.who, b.who), cmp.Compare(a.ver, b.ver))
	})
	out := make([]CivilEvent, len(all))
	for i, k := range keys {
		out[i] = all[k.i]
	}
	return out
}

// history is one person's events, each after the previous: whatever
// happened abroad before their arrival is recorded on arrival.
func (g *gen) history(r *rand.Rand, p *person) []CivilEvent {
	type step struct {
		on    time.Time
		typ   string
		apply func(*PersonState)
	}
	birth := p.BirthDate.AddDate(0, 0, r.IntN(3))
	if p.birthAddr == nil {
		birth = p.arrived
	}
	steps := []step{{birth, EventBirth, func(*PersonState) {}}}
	if !p.union.IsZero() {
		steps = append(steps, step{p.union, EventMarriage, func(s *PersonState) {
			s.MaritalStatus, s.UsageName = p.unionState, p.unionUsage
		}})
	}
	if !p.unionEnd.IsZero() {
		steps = append(steps, step{p.unionEnd, EventMarriage, func(s *PersonState) {
			s.MaritalStatus, s.UsageName = p.MaritalStatus, p.UsageName
		}})
	}
	if !p.moved.IsZero() {
		steps = append(steps, step{p.moved, EventAddress, func(s *PersonState) {
			a := p.Address
			s.Address = &a
		}})
	}
	if !p.Alive() {
		steps = append(steps, step{p.DeathDate.AddDate(0, 0, 1+r.IntN(2)), EventDeath, func(s *PersonState) {
			s.DeathDate = ymd(p.DeathDate)
		}})
	}
	for i := 1; i < len(steps); i++ {
		steps[i].on = latest(steps[i].on, birth.AddDate(0, 0, 1))
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.on.Compare(b.on) })

	state := PersonState{
		NIR: p.NIR, FamilyName: p.FamilyName, GivenNames: p.GivenNames, Sex: p.Sex,
		BirthDate: ymd(p.BirthDate), BirthCommune: p.BirthCommune, BirthCountry: p.BirthCountry,
		Nationality: p.Nationality, MaritalStatus: single, Address: p.birthAddr,
	}
	events := make([]CivilEvent, len(steps))
	var prev time.Time
	for i, s := range steps {
		s.apply(&state)
		// Office hours, and strictly after the previous event of the person.
		at := s.on.Add(8*time.Hour + time.Duration(r.IntN(9*3600))*time.Second)
		if !at.After(prev) {
			at = prev.Add(time.Minute)
		}
		prev = at
		events[i] = CivilEvent{Type: s.typ, RecordedAt: at, Version: i + 1, Person: state}
	}
	return events
}
