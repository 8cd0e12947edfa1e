// Package stats answers decision-makers' aggregate queries: cross-domain
// tables of counts, sums, means and quantiles over the citizens the view
// holds, joined by their linkage token (internal/link) without a NIR, and
// protected before anything leaves by statistical disclosure control
// (internal/stats/sdc) or, when asked, by noise under a privacy budget
// (internal/stats/noise, internal/stats/budget).
//
// Every answer under an aggregate rule is cut from one table: the rule's
// dimensions crossed, with all their margins, over the rule's population,
// protected once per snapshot. An answer is a projection of that table;
// a cell of it made of several of the table's cells is released only if
// all of them are. So answers add nothing to what the protected table
// says, and no two of them can be differenced into a suppressed cell:
// that is the defence against trackers (docs/DESIGN.md, "Statistics").
package stats

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"log/slog"
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// none marks a row without a value for a breakdown or a measure.
const none = math.MinInt64

// Index keeps, per domain, each citizen's current record as columns: the
// raw value of every breakdown and every numeric field, and the citizen's
// link id. It hears the view (view.Observer), so it holds what the view
// holds and nothing the view refused.
type Index struct {
	opener  *link.Opener
	keys    seal.Keys
	seed    maphash.Seed
	log     *slog.Logger
	columns map[string]*column

	unlinked *prometheus.CounterVec
}

// column is one domain's records.
type column struct {
	mu sync.RWMutex
	d  *domain.Domain
	// subjects finds a subject's row by a hash of its pseudonym (a
	// collision among a domain's citizens has odds of 2^-24 at 10^8
	// citizens), links a citizen's row by joinKey of its link id. The
	// row's id is checked on every lookup (row below): two ids of one key
	// can lose a join, never make a wrong one.
	subjects map[uint64]int32
	links    map[uint64]int32
	ids      []link.ID
	linked   []bool
	// keys is each row's signing key, as an index in keyIDs: a build
	// checks a key's validity once, not once per row, and the rows hold
	// no string for the collector to scan.
	keys    []uint32
	keyIDs  []string
	keyOf   map[string]uint32
	raw     [][]int64 // per breakdown, per row; nil for one not kept
	num     [][]int64 // per numeric field kept, per row
	numeric map[string]int
	// kept are the breakdowns (indexes in d.Breakdowns) and the numeric
	// fields a record's values are read for.
	kept   []int
	fields []domain.Field
}

// NewIndex returns an index that opens linkage tokens with opener; keys
// tell, when a table is built, which records' publishers were revoked
// since: their records are not counted, as the view no longer serves them.
func NewIndex(opener *link.Opener, keys seal.Keys, reg prometheus.Registerer, log *slog.Logger) *Index {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ix := &Index{opener: opener, keys: keys, seed: maphash.MakeSeed(), log: log.With("component", "stats"), columns: map[string]*column{},
		unlinked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_view_records_unlinked_total",
			Help: "Records the view holds that statistics cannot join to other domains, by reason (missing, malformed, forged linkage token).",
		}, []string{"domain", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(ix.unlinked)
	}
	for _, d := range domains.All() {
		c := &column{d: d, subjects: map[uint64]int32{}, links: map[uint64]int32{}, keyOf: map[string]uint32{}, numeric: map[string]int{},
			raw: make([][]int64, len(d.Breakdowns))}
		for i := range d.Breakdowns {
			c.kept = append(c.kept, i)
		}
		for _, f := range d.Fields {
			if f.Numeric() {
				c.keep(f)
			}
		}
		ix.columns[d.Name] = c
	}
	return ix
}

func (c *column) keep(f domain.Field) {
	c.numeric[f.Name] = len(c.num)
	c.num = append(c.num, nil)
	c.fields = append(c.fields, f)
}

// Keep makes the index hold only what rules can ask for: the domains of
// their populations, their dimensions and their measures. The view hears
// every record, and reading every breakdown and number of every domain
// cost its build a quarter of its speed. Call it before the first Observe.
func (ix *Index) Keep(rules []*policy.AggregateRule) {
	breakdowns, measures := map[string]map[string]bool{}, map[string]map[string]bool{}
	add := func(m map[string]map[string]bool, dn, name string) {
		if m[dn] == nil {
			m[dn] = map[string]bool{}
		}
		if name != "" {
			m[dn][name] = true
		}
	}
	for _, r := range rules {
		for _, dn := range r.Domains() {
			add(breakdowns, dn, "")
		}
		for _, s := range r.Dimensions {
			dn, name, _ := policy.SplitName(s)
			add(breakdowns, dn, name)
		}
		for _, s := range r.Measures {
			dn, name, _ := policy.SplitName(s)
			add(measures, dn, name)
		}
	}
	for dn, c := range ix.columns {
		if breakdowns[dn] == nil {
			delete(ix.columns, dn) // no rule joins it: its records are not even opened
			continue
		}
		c.kept, c.raw = nil, make([][]int64, len(c.d.Breakdowns))
		for i, b := range c.d.Breakdowns {
			if breakdowns[dn][b.Name] {
				c.kept = append(c.kept, i)
			}
		}
		c.num, c.fields, c.numeric = nil, nil, map[string]int{}
		for _, f := range c.d.Fields {
			if measures[dn][f.Name] {
				c.keep(f)
			}
		}
	}
}

// Observe implements view.Observer.
func (ix *Index) Observe(domainName string, o view.Observed) {
	c := ix.columns[domainName]
	if c == nil {
		return
	}
	id, linked := link.ID{}, false
	if !o.Deleted {
		var header []byte
		for _, h := range o.Headers {
			if h.Key == link.Header {
				header = h.Value
			}
		}
		var err error
		id, err = ix.opener.Open(domainName, o.Meta.Subject, o.Meta.RecordID, header)
		if err != nil {
			ix.unlinked.WithLabelValues(domainName, unlinkedReason(err)).Inc()
			ix.log.Debug("record not linked", "domain", domainName, "record", o.Meta.RecordID, "err", err)
		}
		linked = err == nil
	}
	c.put(maphash.String(ix.seed, o.Meta.Subject), id, linked, o)
}

func unlinkedReason(err error) string {
	switch {
	case errors.Is(err, link.ErrMissing):
		return "missing"
	case errors.Is(err, link.ErrMalformed):
		return "malformed"
	default:
		return "forged"
	}
}

// put writes a subject's current record: a record that cannot be linked,
// or a deletion, still replaces what the row held, so that no stale
// record of the subject is ever counted.
func (c *column) put(subject uint64, id link.ID, linked bool, o view.Observed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	row, ok := c.subjects[subject]
	if !ok {
		row = int32(len(c.ids))
		c.subjects[subject] = row
		c.ids = append(c.ids, link.ID{})
		c.linked = append(c.linked, false)
		c.keys = append(c.keys, 0)
		for _, i := range c.kept {
			c.raw[i] = append(c.raw[i], none)
		}
		for i := range c.num {
			c.num[i] = append(c.num[i], none)
		}
	}
	if c.linked[row] && (!linked || c.ids[row] != id) {
		if r, ok := c.links[joinKey(c.ids[row])]; ok && r == row {
			delete(c.links, joinKey(c.ids[row]))
		}
	}
	c.ids[row], c.linked[row], c.keys[row] = id, linked, c.key(o.KeyID)
	if linked {
		c.links[joinKey(id)] = row
	}
	for _, i := range c.kept {
		v := int64(none)
		if !o.Deleted {
			if raw, ok := c.d.Breakdowns[i].Raw(o.Value); ok {
				v = raw
			}
		}
		c.raw[i][row] = v
	}
	for i, f := range c.fields {
		v := int64(none)
		if !o.Deleted {
			if n, ok := f.Number(o.Value); ok {
				v = n
			}
		}
		c.num[i][row] = v
	}
}

// key is the index of signing key kid in c.keyIDs.
func (c *column) key(kid string) uint32 {
	k, ok := c.keyOf[kid]
	if !ok {
		k = uint32(len(c.keyIDs))
		c.keyIDs = append(c.keyIDs, kid)
		c.keyOf[kid] = k
	}
	return k
}

// joinKey is what the join's maps are keyed by: a uint64, which the
// runtime's maps hash and compare much faster than a 16-byte array (the
// lookups are most of a cold table's join). A link id is an HMAC output,
// so its halves are uniform; both are folded in all the same, so that
// ids differing in one half only (as test fixtures make them) do not
// collide.
func joinKey(id link.ID) uint64 {
	return binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
}

// row is the linked row of citizen id, if any.
func (c *column) row(id link.ID) (int32, bool) {
	r, ok := c.links[joinKey(id)]
	if !ok || !c.linked[r] || c.ids[r] != id {
		return 0, false
	}
	return r, true
}

// Unlinked is the counter of records statistics cannot join, for tests.
func (ix *Index) Unlinked(domainName, reason string) prometheus.Counter {
	return ix.unlinked.WithLabelValues(domainName, reason)
}

var _ view.Observer = (*Index)(nil)
