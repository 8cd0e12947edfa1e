package stats

import (
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/stats/sdc"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/policy"
)

// Snapshot is the state statistics are computed on for a while: every
// answer in it is cut from tables built once, so that two answers of one
// period come from the same protected table.
type Snapshot struct {
	ix *Index
	At time.Time
	// registry is the member registry the snapshot's tables were built
	// under: a new one (a revocation) ends the snapshot.
	registry any

	mu     sync.Mutex
	tables map[string]*tableOnce
}

type tableOnce struct {
	once sync.Once
	t    *Table
	err  error
}

// Freeze starts a snapshot at at: tables are built from what the index
// holds when a query first needs them, ages counted on at's day.
func (ix *Index) Freeze(at time.Time) *Snapshot {
	return &Snapshot{ix: ix, At: at.UTC(), registry: ix.registry(), tables: map[string]*tableOnce{}}
}

// registry is the member registry the index's keys answer from now, when
// they can change (a *trust.Store); nil otherwise.
func (ix *Index) registry() any {
	if r, ok := ix.keys.(interface{ Current() *trust.Registry }); ok {
		return r.Current()
	}
	return nil
}

// Table returns the rule's protected table in this snapshot.
func (s *Snapshot) Table(r *policy.AggregateRule) (*Table, error) {
	s.mu.Lock()
	o, ok := s.tables[r.ID]
	if !ok {
		o = &tableOnce{}
		s.tables[r.ID] = o
	}
	s.mu.Unlock()
	o.once.Do(func() { o.t, o.err = s.ix.build(r, s.At) })
	return o.t, o.err
}

// Dim is a dimension of a rule's table.
type Dim struct {
	Name      string // "<domain>.<breakdown>"
	Breakdown *domain.Breakdown
	domain    string
}

// Measure is a measure of a rule's table.
type Measure struct {
	Name   string // "<domain>.<field>"
	Field  domain.Field
	domain string
}

// Table is a rule's table over one snapshot: the rule's dimensions
// crossed, with every margin, counts and sums per cell, and its
// population's rows for what a cell cannot hold (quantiles, noise).
type Table struct {
	Rule     *policy.AggregateRule
	Dims     []Dim
	Measures []Measure
	// Counts holds the cells' counts and their suppression; Sums, per
	// measure, the cells' sums and theirs. Each figure is protected on
	// its own: a sum one citizen dominates hides that sum, not the
	// cell's count, and a secondary suppression chosen for one figure
	// does not cost the others.
	Counts *sdc.Table
	Sums   []*sdc.Table
	// Unproven counts the primary cells secondary suppression could not
	// prove protected; answers report it.
	Unproven int
	// Population is how many citizens the join holds; Excluded how many
	// of them lack a category of some dimension (no address, say) or
	// carry a negative amount, and are in no cell.
	Population, Excluded int

	cats [][]uint16 // per dimension, per row
	vals [][]int64  // per measure, per row
}

// build joins the rule's domains on link ids, places each citizen in the
// table and protects it.
func (ix *Index) build(r *policy.AggregateRule, at time.Time) (*Table, error) {
	t := &Table{Rule: r}
	for _, name := range r.Dimensions {
		d, b, ok := policy.LookupBreakdown(name)
		if !ok {
			return nil, fmt.Errorf("stats: rule %s: no breakdown %s", r.ID, name)
		}
		t.Dims = append(t.Dims, Dim{Name: name, Breakdown: b, domain: d.Name})
	}
	for _, name := range r.Measures {
		d, f, ok := policy.LookupMeasure(name)
		if !ok {
			return nil, fmt.Errorf("stats: rule %s: no measure %s", r.ID, name)
		}
		t.Measures = append(t.Measures, Measure{Name: name, Field: f, domain: d.Name})
	}
	doms := r.Domains()
	cols := make([]*column, len(doms))
	for _, dn := range doms {
		if ix.columns[dn] == nil {
			return nil, fmt.Errorf("stats: rule %s: the index keeps no %s records (Index.Keep)", r.ID, dn)
		}
	}
	for i, dn := range doms {
		cols[i] = ix.columns[dn]
		cols[i].mu.RLock() // in registry order, as every build does: no deadlock
	}
	defer func() {
		for _, c := range cols {
			c.mu.RUnlock()
		}
	}()
	colOf := func(dn string) (int, *column) {
		i := slices.Index(doms, dn)
		return i, cols[i]
	}
	valid := ix.validKeys(doms, cols)
	type dimSrc struct {
		col, breakdown int
		cuts           []int64
	}
	dsrc := make([]dimSrc, len(t.Dims))
	for i, dm := range t.Dims {
		ci, c := colOf(dm.domain)
		bi := slices.IndexFunc(c.d.Breakdowns, func(b domain.Breakdown) bool { return b.Name == dm.Breakdown.Name })
		if !slices.Contains(c.kept, bi) {
			return nil, fmt.Errorf("stats: rule %s: the index keeps no %s (Index.Keep)", r.ID, dm.Name)
		}
		dsrc[i] = dimSrc{col: ci, breakdown: bi}
		if dm.Breakdown.Kind == domain.KindRank {
			dsrc[i].cuts = c.cuts(bi, len(dm.Breakdown.Categories), valid[ci])
		}
	}
	type measSrc struct{ col, field int }
	msrc := make([]measSrc, len(t.Measures))
	for i, m := range t.Measures {
		ci, c := colOf(m.domain)
		f, ok := c.numeric[m.Field.Name]
		if !ok {
			return nil, fmt.Errorf("stats: rule %s: the index keeps no %s (Index.Keep)", r.ID, m.Name)
		}
		msrc[i] = measSrc{col: ci, field: f}
	}
	t.cats = make([][]uint16, len(t.Dims))
	t.vals = make([][]int64, len(t.Measures))
	rows := make([]int32, len(cols))
	vals := make([]int64, len(msrc))
	base := cols[0]
rows:
	for row := range base.ids {
		if !base.linked[row] || !valid[0][base.keys[row]] {
			continue
		}
		rows[0] = int32(row)
		for i := 1; i < len(cols); i++ {
			r, ok := cols[i].row(base.ids[row])
			if !ok || !valid[i][cols[i].keys[r]] {
				continue rows
			}
			rows[i] = r
		}
		t.Population++
		// Sums are of non-negative amounts (the attacker's bounds in sdc
		// rest on it, and connectors refuse negative ones): a record that
		// carries one anyway, validly signed, leaves its citizen out of
		// the table instead of failing it for everyone.
		for i, ms := range msrc {
			v := cols[ms.col].num[ms.field][rows[ms.col]]
			if v == none {
				v = 0
			}
			if v < 0 {
				t.Excluded++
				continue rows
			}
			vals[i] = v
		}
		for i, ds := range dsrc {
			raw := cols[ds.col].raw[ds.breakdown][rows[ds.col]]
			cat, ok := category(t.Dims[i].Breakdown, raw, ds.cuts, at)
			if !ok {
				t.Excluded++
				for j := range i {
					t.cats[j] = t.cats[j][:len(t.cats[j])-1]
				}
				continue rows
			}
			t.cats[i] = append(t.cats[i], uint16(cat))
		}
		for i := range msrc {
			t.vals[i] = append(t.vals[i], vals[i])
		}
	}
	t.aggregate()
	if err := t.protect(); err != nil {
		return nil, fmt.Errorf("stats: rule %s: %w", r.ID, err)
	}
	return t, nil
}

// validKeys says, per domain of the join, which signing keys may still
// publish it: a revoked key's records are not counted. It is indexed
// like column.keyIDs.
func (ix *Index) validKeys(doms []string, cols []*column) [][]bool {
	out := make([][]bool, len(cols))
	for i, c := range cols {
		out[i] = make([]bool, len(c.keyIDs))
		for k, kid := range c.keyIDs {
			ok := false
			if ix.keys != nil {
				if k, err := ix.keys.SigningKey(kid); err == nil {
					ok = ix.keys.MayPublish(k.Member, doms[i])
				}
			} else {
				ok = true
			}
			out[i][k] = ok
		}
	}
	return out
}

// cuts are the upper bounds of a rank breakdown's groups but the last,
// over every counted record of the domain.
func (c *column) cuts(breakdown, groups int, valid []bool) []int64 {
	var all []int64
	for row, v := range c.raw[breakdown] {
		if v != none && c.linked[row] && valid[c.keys[row]] {
			all = append(all, v)
		}
	}
	if len(all) == 0 {
		return nil
	}
	slices.Sort(all)
	cuts := make([]int64, groups-1)
	for i := range cuts {
		cuts[i] = all[(i+1)*len(all)/groups-1]
	}
	return cuts
}

// category places a raw value in its breakdown's category.
func category(b *domain.Breakdown, raw int64, cuts []int64, at time.Time) (int, bool) {
	if raw == none {
		return 0, false
	}
	switch b.Kind {
	case domain.KindAge:
		return b.Age(raw, at)
	case domain.KindRank:
		if cuts == nil {
			return 0, false
		}
		i, _ := slices.BinarySearch(cuts, raw)
		return i, true
	default:
		return int(raw), raw >= 0 && int(raw) < len(b.Categories)
	}
}

// aggregate fills the tables, margins included, and marks the primary
// suppressions: a count below k hides the cell in every table; a sum
// whose largest contributors dominate it hides that sum.
func (t *Table) aggregate() {
	d, m := len(t.Dims), len(t.Measures)
	sizes := make([]int, d)
	for i, dm := range t.Dims {
		sizes[i] = len(dm.Breakdown.Categories)
	}
	t.Counts = sdc.NewTable(sizes, 0)
	t.Sums = make([]*sdc.Table, m)
	for j := range t.Sums {
		t.Sums[j] = sdc.NewTable(sizes, 1)
	}
	cells := len(t.Counts.Cells)
	n := t.Rule.Disclosure.DominanceN
	stride := make([]int, d)
	s := 1
	for i := d - 1; i >= 0; i-- {
		stride[i] = s
		s *= sizes[i] + 1
	}
	// The rows are split among the cores, each summing into its own
	// arrays; the integer sums make the result the same however many.
	rows := t.rows()
	workers := max(1, min(runtime.GOMAXPROCS(0), rows/minRowsPerWorker))
	parts := make([]partial, workers)
	var wg sync.WaitGroup
	for w := range parts {
		parts[w] = newPartial(cells, m, n)
		wg.Go(func() { t.accumulate(parts[w], rows*w/workers, rows*(w+1)/workers, sizes, stride) })
	}
	wg.Wait()
	for _, p := range parts[1:] {
		parts[0].merge(p)
	}
	counts, sums, top := parts[0].counts, parts[0].sums, parts[0].top
	dc := t.Rule.Disclosure
	for k := range cells {
		small := counts[k] > 0 && counts[k] < int64(dc.K)
		cc := &t.Counts.Cells[k]
		cc.Count = counts[k]
		if small {
			cc.Status, cc.NeedCount = sdc.KThreshold, float64(dc.CountProtection)
		}
		for j := range m {
			sc := &t.Sums[j].Cells[k]
			sc.Count, sc.Sums[0] = counts[k], float64(sums[k*m+j])
			sc.NeedSums = []float64{dc.Protection * sc.Sums[0]}
			var largest int64
			for _, v := range top[(k*m+j)*n : (k*m+j+1)*n] {
				largest += v
			}
			switch {
			case small:
				sc.Status = sdc.KThreshold
			case sc.Sums[0] > 0 && float64(largest) > dc.DominanceShare*sc.Sums[0]:
				sc.Status = sdc.Dominance
			}
		}
	}
}

// minRowsPerWorker is the fewest rows worth a goroutine of aggregate.
const minRowsPerWorker = 1 << 15

// partial is a share of the rows' aggregation: per cell, the count, per
// cell and measure the sum and the n largest contributions (descending).
type partial struct {
	n      int
	counts []int64
	sums   []int64
	top    []int64
}

func newPartial(cells, measures, n int) partial {
	return partial{n: n, counts: make([]int64, cells), sums: make([]int64, cells*measures),
		top: make([]int64, cells*measures*n)}
}

// accumulate adds rows [lo, hi) to p, each in its cell and every margin
// of it: the 2^d cells of a row differ from its own cell by one term per
// dimension replaced with its margin, so each is one addition away from
// another.
func (t *Table) accumulate(p partial, lo, hi int, sizes, stride []int) {
	d, m, n := len(sizes), len(t.Measures), p.n
	keys := make([]int, 1<<d)
	delta := make([]int, d)
	vals := make([]int64, m)
	for row := lo; row < hi; row++ {
		k := 0
		for i := range d {
			c := int(t.cats[i][row])
			k += c * stride[i]
			delta[i] = (sizes[i] - c) * stride[i]
		}
		keys[0] = k
		for mask := 1; mask < len(keys); mask++ {
			keys[mask] = keys[mask&(mask-1)] + delta[bits.TrailingZeros(uint(mask))]
		}
		for j := range vals {
			vals[j] = t.vals[j][row]
		}
		for _, k := range keys {
			p.counts[k]++
			sums := p.sums[k*m : k*m+m]
			for j, v := range vals {
				sums[j] += v
			}
			if n == 1 { // the default: the largest contribution alone
				top := p.top[k*m : k*m+m]
				for j, v := range vals {
					top[j] = max(top[j], v)
				}
				continue
			}
			for j, v := range vals {
				insertTop(p.top[(k*m+j)*n:(k*m+j+1)*n], v)
			}
		}
	}
}

// merge adds q to p.
func (p partial) merge(q partial) {
	for k, c := range q.counts {
		p.counts[k] += c
	}
	for k, s := range q.sums {
		p.sums[k] += s
	}
	for i := 0; i < len(q.top); i += p.n {
		for _, v := range q.top[i : i+p.n] {
			insertTop(p.top[i:i+p.n], v)
		}
	}
}

// protect adds the secondary suppressions, counts first: an empty cell
// whose zero count is released tells the attacker its sums too, so the
// sums' tables may not hide it in a cube (sdc.Cell.Known). The other way
// round, a sum is never shown where the count is hidden (Exact).
func (t *Table) protect() error {
	unproven, err := t.Counts.Protect()
	if err != nil {
		return fmt.Errorf("secondary suppression of the counts: %w", err)
	}
	t.Unproven += unproven
	for j, st := range t.Sums {
		for k := range st.Cells {
			c := &t.Counts.Cells[k]
			st.Cells[k].Known = c.Count == 0 && c.Status == sdc.Released
		}
		unproven, err := st.Protect()
		if err != nil {
			return fmt.Errorf("secondary suppression of %s: %w", t.Measures[j].Name, err)
		}
		t.Unproven += unproven
	}
	return nil
}

// rows is how many citizens are in some cell.
func (t *Table) rows() int {
	if len(t.cats) == 0 {
		return 0
	}
	return len(t.cats[0])
}

// insertTop keeps in top (descending) the largest values seen.
func insertTop(top []int64, v int64) {
	for i := range top {
		if v > top[i] {
			copy(top[i+1:], top[i:len(top)-1])
			top[i] = v
			return
		}
	}
}
