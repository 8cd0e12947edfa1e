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
// MaxPage), and whether more follow. With a disk index, an error is an
// index that cannot be read or no longer holds the events the tree does.
func (t *Trail) Events(f Filter) ([]Entry, bool, error) {
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
	full, err := t.store.events(f, visit)
	return out, full, err
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
func (t *Trail) Event(i int64) (Entry, bool, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.store.entry(i)
}

// keep indexes the event parseEvent has just parsed into doc and settles
// its claims; a field of another type only costs the query view that
// field. (encoding/json took a third of the trail's time.) A retry, a
// second copy of an event, claims nothing: it is void as a duplicate.
func (t *Trail) keep(index int64, r Record, doc *fastjson.Value, retry bool) error {
	ev := eventOf(doc, string(r.Key), t.in)
	ev.Citizen = string(doc.GetStringBytes("citizen")) // shared by the store's citizen index
	var void string
	var err error
	switch {
	case retry:
		void = VoidDuplicate
	case ev.Kind == KindVoid:
		err = t.applyVoid(ev.Ref, ev.Code)
	default:
		void, err = t.arbitrate(&ev) // may let readers in while it counts
		t.forgetTokens(ev.Time)
	}
	if err != nil {
		return err
	}
	t.store.add(Entry{Index: index, Offset: r.Offset, Event: ev, Void: void}, r.Value, retry)
	return nil
}

// eventOf reads an event from its parsed JSON, but for its citizen (shared
// through the trail's citizen index instead), sharing its strings through
// in if not nil.
func eventOf(doc *fastjson.Value, id string, in *interner) Event {
	str := func(k string) string { return in.str(doc.GetStringBytes(k)) }
	strs := func(k string) []string { return in.list(doc.GetArray(k)) }
	ev := Event{ID: id, Writer: str("writer"), Seq: doc.GetInt64("seq"), Kind: str("kind"), Requester: str("requester"),
		KeyID: str("key_id"), Purpose: str("purpose"), LegalBasis: str("legal_basis"),
		Decision: str("decision"), Code: str("code"), Rule: str("rule"), PolicyVersion: str("policy_version"),
		Released: strs("released"), Withheld: strs("withheld")}
	ev.Time, _ = time.Parse(time.RFC3339Nano, string(doc.GetStringBytes("time")))
	if q := doc.GetObject("query"); q != nil {
		ev.Query = map[string]string{}
		q.Visit(func(k []byte, v *fastjson.Value) { ev.Query[string(k)] = string(v.GetStringBytes()) })
	}
	if tok := doc.GetStringBytes("token"); len(tok) > 0 {
		ev.Token, ev.TokenExpiry = string(tok), doc.GetInt64("token_exp") // unique: not interned
	}
	if c := doc.Get("ceiling"); c != nil {
		ev.Ceiling = &Ceiling{Max: c.GetInt("max"), WindowSeconds: c.GetInt64("window_seconds")}
	}
	if c := doc.Get("consent"); c != nil {
		ev.Consent = &ConsentClaim{ID: in.str(c.GetStringBytes("id")), MaxUses: c.GetInt("max_uses"), PeriodSeconds: c.GetInt64("period_seconds")}
	}
	ev.Ref = string(doc.GetStringBytes("ref"))
	return ev
}

// maxInterned bounds the distinct values (and field lists) shared between
// events; beyond it a value is kept per event.
const maxInterned = 1 << 16

// An interner shares the values that repeat from event to event (a
// requester, a purpose, a rule, a list of fields, a citizen's pseudonym),
// which took what an event costs the gateway from 895 bytes to 560
// (BenchmarkTrailMemory). Not with the unique package: its weak handles
// cost more than the rest of the trail for values that are mostly new, as
// pseudonyms are. A nil interner shares nothing.
type interner struct {
	strs  map[string]string
	lists map[string][]string
}

func newInterner() *interner {
	return &interner{strs: map[string]string{}, lists: map[string][]string{}}
}

// str returns b as a string shared with the other events that hold it,
// for the first maxInterned distinct values.
func (in *interner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in == nil {
		return string(b)
	}
	if s, ok := in.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in.strs) < maxInterned {
		in.strs[s] = s
	}
	return s
}

func (in *interner) list(vs []*fastjson.Value) []string {
	if len(vs) == 0 {
		return nil
	}
	var key strings.Builder
	if in != nil {
		for _, v := range vs {
			key.Write(v.GetStringBytes())
			key.WriteByte(0)
		}
		if out, ok := in.lists[key.String()]; ok {
			return out
		}
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = in.str(v.GetStringBytes())
	}
	if in != nil && len(in.lists) < maxInterned {
		in.lists[key.String()] = out
	}
	return out
}

// reset forgets what is shared: the events that shared it are saved.
func (in *interner) reset() {
	clear(in.strs)
	clear(in.lists)
}

// released: a view that released data, which the ceilings count.
func released(kind, decision string) bool {
	return kind == KindView && (decision == "allow" || decision == "partial")
}
