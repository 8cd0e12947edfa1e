package stats_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/stats/sdc"
	"github.com/passerelle-bus/passerelle/internal/stats/sdc/lp"
	"github.com/passerelle-bus/passerelle/policy"
)

// An attacker's view of the statistics: every released figure of many
// answers under one snapshot, written as a linear equation over the
// interior cells of the rule's table, then differenced pairwise and
// solved as linear programs for every primary cell. The design says
// every answer is a sum of released cells of one protected table, so the
// attacker must learn no more than the protected table says.

const attackPurpose = "attack-statistics"

// smallRule loads a rule of its own over the given dimensions and
// measures, so that the table stays small enough for a dense LP.
func smallRule(t testing.TB, dims, measures []string, extra string) *policy.AggregateRule {
	t.Helper()
	purposes := "- {id: " + attackPurpose + ", description: attack}\n"
	rule := "id: attack\nrequester: drees\npurpose: " + attackPurpose + "\nlegal_basis: public-task\nlegal_reference: loi\n" +
		"dimensions: [" + strings.Join(dims, ", ") + "]\nmeasures: [" + strings.Join(measures, ", ") + "]\n" +
		"valid_from: 2026-01-01T00:00:00Z\n" + extra
	rs, err := policy.Load(fstest.MapFS{"purposes.yaml": {Data: []byte(purposes)}, "aggregates/attack.yaml": {Data: []byte(rule)}}, ".")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rs.Aggregate("drees", attackPurpose, day)
	if !ok {
		t.Fatal("no attack rule")
	}
	return r
}

// targetPopulation is population(n, seed) with one target: a man aged
// 75+ receiving MINIMUM_INCOME, the only one of his kind.
func targetPopulation(n int, seed uint64) ([]citizen, int) {
	pop := population(n, seed)
	const target = 1
	for i := range pop {
		c := &pop[i]
		if c.sex == "M" && ageBand(c.born) == "75+" && c.benefit == "MINIMUM_INCOME" {
			c.benefit = "HOUSING_AID"
		}
	}
	pop[target] = citizen{sex: "M", born: time.Date(1941, 3, 2, 0, 0, 0, 0, time.UTC), commune: "69123",
		income: 4_321_987, taxDue: 12_345, benefit: "MINIMUM_INCOME", amount: 54_321, inTax: true, inFinance: true}
	return pop, target
}

// equation is a released figure: the sum of the table's interior cells
// listed (flat indexes of Counts) is value.
type equation struct {
	cells []int
	value float64
}

// harvest is everything an attacker collects under one snapshot.
type harvest struct {
	tab     *stats.Table
	queries int
	counts  []equation
	sums    []equation // in the measure's raw unit (cents)
}

// filterOptions are the filters an attacker tries on one dimension: none,
// each category alone, and each "all but one".
func filterOptions(cats []string) [][]string {
	opts := [][]string{nil}
	for i, c := range cats {
		opts = append(opts, []string{c})
		opts = append(opts, slices.Delete(slices.Clone(cats), i, i+1))
	}
	return opts
}

// collect issues every group_by subset of the rule's dimensions crossed
// with every filter option on the dimensions not grouped, and records
// each released count and sum of the first measure.
func collect(t *testing.T, r *policy.AggregateRule, tab *stats.Table) *harvest {
	t.Helper()
	h := &harvest{tab: tab}
	d := len(tab.Dims)
	for mask := range 1 << d {
		var group []string
		var free []int
		for i := range d {
			if mask&(1<<i) != 0 {
				group = append(group, tab.Dims[i].Name)
			} else {
				free = append(free, i)
			}
		}
		opts := make([][][]string, len(free))
		for fi, i := range free {
			opts[fi] = filterOptions(tab.Dims[i].Breakdown.Categories)
		}
		var rec func(fi int, filters []stats.Filter)
		rec = func(fi int, filters []stats.Filter) {
			if fi == len(free) {
				h.ask(t, r, stats.Query{Purpose: attackPurpose, GroupBy: group, Filters: slices.Clone(filters),
					Measures: []stats.MeasureQuery{{Op: "count"}, {Op: "sum", Field: r.Measures[0]}}})
				return
			}
			for _, o := range opts[fi] {
				f := filters
				if o != nil {
					f = append(slices.Clone(filters), stats.Filter{Field: tab.Dims[free[fi]].Name, In: o})
				}
				rec(fi+1, f)
			}
		}
		rec(0, nil)
	}
	return h
}

// ask runs one query and writes each released figure as an equation.
func (h *harvest) ask(t *testing.T, r *policy.AggregateRule, q stats.Query) {
	t.Helper()
	p, err := stats.Compile(r, q)
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	a := stats.Exact(p, h.tab, day)
	h.queries++
	tab := h.tab
	d := len(tab.Dims)
	for _, c := range a.Cells {
		lists := make([][]int, d)
		for i := range d {
			lists[i] = nil
			for ci := range tab.Dims[i].Breakdown.Categories {
				lists[i] = append(lists[i], ci)
			}
		}
		for _, f := range q.Filters {
			i := slices.Index(r.Dimensions, f.Field)
			lists[i] = nil
			for _, v := range f.In {
				ci, _ := tab.Dims[i].Breakdown.Category(v)
				lists[i] = append(lists[i], ci)
			}
		}
		for gi, g := range q.GroupBy {
			i := slices.Index(r.Dimensions, g)
			ci, _ := tab.Dims[i].Breakdown.Category(c.Group[gi])
			lists[i] = []int{ci}
		}
		cells := interior(tab.Counts, lists)
		if c.Count != nil {
			h.counts = append(h.counts, equation{cells, *c.Count})
		}
		if v := c.Values[1]; v != nil {
			h.sums = append(h.sums, equation{cells, math.Round(*v * 100)})
		}
	}
}

// interior lists the flat indexes of the interior cells of the product of
// lists.
func interior(tab *sdc.Table, lists [][]int) []int {
	var out []int
	coord := make([]int, len(lists))
	var rec func(i int)
	rec = func(i int) {
		if i == len(lists) {
			out = append(out, tab.Index(coord))
			return
		}
		for _, c := range lists[i] {
			coord[i] = c
			rec(i + 1)
		}
	}
	rec(0)
	slices.Sort(out)
	return out
}

// interiorOf lists the interior cells a cell of the table (margin or
// not) adds up.
func interiorOf(tab *sdc.Table, k int) []int {
	coord := tab.Coord(k, nil)
	lists := make([][]int, len(coord))
	for i, c := range coord {
		if c == tab.Sizes[i] {
			for ci := range c {
				lists[i] = append(lists[i], ci)
			}
		} else {
			lists[i] = []int{c}
		}
	}
	return interior(tab, lists)
}

// system is the attacker's linear system over the interior cells it does
// not know: known holds the cells pinned by a released figure of their
// own, rows the other figures with the known cells moved right.
type system struct {
	vars  map[int]int // interior cell -> variable
	known map[int]float64
	A     [][]float64
	b     []float64
	keys  map[string]bool
}

func newSystem(eqs []equation, knownZero map[int]bool) *system {
	s := &system{vars: map[int]int{}, known: map[int]float64{}, keys: map[string]bool{}}
	for k := range knownZero {
		s.known[k] = 0
	}
	for _, e := range eqs {
		if len(e.cells) == 1 {
			s.known[e.cells[0]] = e.value
		}
	}
	for _, e := range eqs {
		var unknown []int
		rhs := e.value
		for _, k := range e.cells {
			if v, ok := s.known[k]; ok {
				rhs -= v
			} else {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) == 0 {
			continue
		}
		key := fmt.Sprint(unknown)
		if s.keys[key] {
			continue
		}
		s.keys[key] = true
		for _, k := range unknown {
			if _, ok := s.vars[k]; !ok {
				s.vars[k] = len(s.vars)
			}
		}
		row := make([]float64, 0, len(unknown))
		for _, k := range unknown {
			row = append(row, float64(k))
		}
		s.A = append(s.A, row) // cell indexes for now; dense below
		s.b = append(s.b, rhs)
	}
	n := len(s.vars)
	for i, cells := range s.A {
		row := make([]float64, n)
		for _, k := range cells {
			row[s.vars[int(k)]] = 1
		}
		s.A[i] = row
	}
	return s
}

// bound adds lo <= x_k <= hi for an unknown cell, with two slack
// variables: what the answer's label says of a k-threshold cell.
func (s *system) bound(k int, lo, hi float64) {
	v, ok := s.vars[k]
	if !ok {
		return
	}
	width := len(s.vars) + 2
	for i := range s.A {
		s.A[i] = append(s.A[i], 0, 0)
		width = len(s.A[i])
	}
	up := make([]float64, width)
	up[v], up[width-2] = 1, 1 // x + s1 = hi
	down := make([]float64, width)
	down[v], down[width-1] = 1, -1 // x - s2 = lo
	s.A = append(s.A, up, down)
	s.b = append(s.b, hi, lo)
}

// interval is the attacker's [min, max] of the sum of cells.
func (s *system) interval(t *testing.T, sol *lp.Feasible, cells []int) (float64, float64) {
	t.Helper()
	c := make([]float64, sol.Vars())
	base, free := 0.0, false
	for _, k := range cells {
		if v, ok := s.known[k]; ok {
			base += v
		} else if v, ok := s.vars[k]; ok {
			c[v] = 1
			free = true
		} else {
			return 0, math.Inf(1) // in no released figure: anything
		}
	}
	if !free {
		return base, base
	}
	lo := sol.Minimize(c)
	for i := range c {
		c[i] = -c[i]
	}
	hi := -sol.Minimize(c)
	return base + lo, base + hi
}

func trueSum(tab *sdc.Table, cells []int, value func(sdc.Cell) float64) float64 {
	v := 0.0
	for _, k := range cells {
		v += value(tab.Cells[k])
	}
	return v
}

// TestTrackerAttackRecoversNoPrimary is attacks 1 and 2 on a three-dimension
// rule (sex × age band × benefit) over a population with a unique target.
func TestTrackerAttackRecoversNoPrimary(t *testing.T) {
	pop, _ := targetPopulation(1500, 11)
	f := newFixture(t, pop)
	r := smallRule(t, []string{"civilstatus.sex", "civilstatus.age_band", "finance.benefit"}, []string{"tax.reference_income"}, "")
	tab, err := f.ix.Freeze(day).Table(r)
	if err != nil {
		t.Fatal(err)
	}
	k := r.Disclosure.K
	cnt := tab.Counts
	tc := interior(cnt, [][]int{{2}, {7}, {2}})[0] // M, 75+, MINIMUM_INCOME
	if got := cnt.Cells[tc].Count; got != 1 || cnt.Cells[tc].Status != sdc.KThreshold {
		t.Fatalf("target cell count %d status %v: the fixture does not isolate him", got, cnt.Cells[tc].Status)
	}
	h := collect(t, r, tab)

	// 1. No released figure, direct, is a count in [1, k-1].
	for _, e := range h.counts {
		if e.value >= 1 && e.value < float64(k) {
			t.Errorf("released count %v over cells %v", e.value, e.cells)
		}
	}

	// 2. Pairwise differencing: for every two released counts whose cells
	// nest, the difference is a figure of the cells between them.
	s := newSystem(h.counts, nil)
	type rowSet struct {
		cells map[int]bool
		value float64
	}
	var rows []rowSet
	seen := map[string]bool{}
	for _, e := range h.counts {
		key := fmt.Sprint(e.cells)
		if seen[key] {
			continue
		}
		seen[key] = true
		m := map[int]bool{}
		for _, c := range e.cells {
			m[c] = true
		}
		rows = append(rows, rowSet{m, e.value})
	}
	pairs, smallUnions, exact := 0, 0, 0
	for i := range rows {
		for j := range rows {
			a, b := rows[i], rows[j]
			if len(a.cells) >= len(b.cells) {
				continue
			}
			nested := true
			for c := range a.cells {
				if !b.cells[c] {
					nested = false
					break
				}
			}
			if !nested {
				continue
			}
			pairs++
			var diff []int
			for c := range b.cells {
				if !a.cells[c] {
					diff = append(diff, c)
				}
			}
			v := b.value - a.value
			if v >= 1 && v < float64(k) {
				smallUnions++
			}
			if len(diff) == 1 && cnt.Cells[diff[0]].Status.Primary() {
				exact++
				t.Errorf("cell %v (%v) recomputed exactly: %v", cnt.Coord(diff[0], nil), cnt.Cells[diff[0]].Status, v)
			}
		}
	}

	// 3. The LP attacker over every released count, the labels of the
	// k-threshold interior cells and non-negativity.
	for kk := range s.vars {
		if cnt.Cells[kk].Status == sdc.KThreshold {
			s.bound(kk, 1, float64(k-1))
		}
	}
	sol, ok := lp.NewFeasible(s.A, s.b, len(s.A[0]))
	if !ok {
		t.Fatal("the true table does not satisfy the released figures")
	}
	primaries, narrowed := 0, 0
	for kk, c := range cnt.Cells {
		if c.Status != sdc.KThreshold {
			continue
		}
		primaries++
		cells := interiorOf(cnt, kk)
		lo, hi := s.interval(t, sol, cells)
		if v := float64(c.Count); v < lo-1e-6 || v > hi+1e-6 {
			t.Fatalf("cell %v: true %v outside [%v, %v]: the harvest is wrong", cnt.Coord(kk, nil), v, lo, hi)
		}
		if hi-lo < float64(r.Disclosure.CountProtection)-1e-6 {
			narrowed++
			t.Errorf("count of %v (true %d) narrowed to [%g, %g]", cnt.Coord(kk, nil), c.Count, lo, hi)
		}
	}
	if lo, hi := s.interval(t, sol, []int{tc}); hi-lo < 2-1e-6 {
		t.Errorf("target's count narrowed to [%g, %g]", lo, hi)
	}
	t.Logf("%d queries, %d released counts, %d distinct equations over %d unknown interior cells (%d known); "+
		"%d nested pairs differenced, %d differences in [1, k-1] (over unions of cells), %d exact; %d count primaries checked by LP, %d narrowed",
		h.queries, len(h.counts), len(s.b), len(s.vars), len(s.known), pairs, smallUnions, exact, primaries, narrowed)

	// 4. Sums: the same attacker on the released sums, knowing a cell
	// whose released count is 0 sums to 0.
	zero := map[int]bool{}
	for _, e := range h.counts {
		if e.value == 0 {
			for _, c := range e.cells {
				zero[c] = true
			}
		}
	}
	ss := newSystem(h.sums, zero)
	st := tab.Sums[0]
	sumOf := func(c sdc.Cell) float64 { return c.Sums[0] }
	checked, narrowedSums := 0, 0
	if len(ss.A) > 0 {
		ssol, ok := lp.NewFeasible(ss.A, scaledB(ss.b), len(ss.A[0]))
		if !ok {
			t.Fatal("the true sums do not satisfy the released sums")
		}
		for kk, c := range st.Cells {
			if !c.Status.Primary() {
				continue
			}
			checked++
			cells := interiorOf(st, kk)
			lo, hi := ss.scaledInterval(t, ssol, cells)
			v := trueSum(st, cells, sumOf)
			if v < lo-1 || v > hi+1 {
				t.Fatalf("sum of %v: true %v outside [%v, %v]", st.Coord(kk, nil), v, lo, hi)
			}
			if hi-lo < r.Disclosure.Protection*v-1 {
				narrowedSums++
				t.Errorf("sum of %v (%v, true %v) narrowed to [%v, %v], need width %v", st.Coord(kk, nil), c.Status, v, lo, hi, r.Disclosure.Protection*v)
			}
		}
	}
	t.Logf("%d released sums, %d distinct sum equations; %d sum primaries checked by LP, %d narrowed", len(h.sums), len(ss.b), checked, narrowedSums)
}

// Sums are in cents, up to 10^11: the LP runs in millions of cents.
const sumScale = 1e6

func scaledB(b []float64) []float64 {
	out := make([]float64, len(b))
	for i, v := range b {
		out[i] = v / sumScale
	}
	return out
}

func (s *system) scaledInterval(t *testing.T, sol *lp.Feasible, cells []int) (float64, float64) {
	t.Helper()
	c := make([]float64, sol.Vars())
	base, free := 0.0, false
	for _, k := range cells {
		if v, ok := s.known[k]; ok {
			base += v
		} else if v, ok := s.vars[k]; ok {
			c[v] = 1
			free = true
		} else {
			return 0, math.Inf(1) // in no released figure: anything
		}
	}
	if !free {
		return base, base
	}
	lo := sol.Minimize(c)
	for i := range c {
		c[i] = -c[i]
	}
	hi := -sol.Minimize(c)
	return base + lo*sumScale, base + hi*sumScale
}
