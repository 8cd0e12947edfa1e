package stats_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/policy"
)

// A quantile is not a linear figure: released for any answer cell whose
// count is released, it is an order statistic, one citizen's own value.
// One query may ask as many quantiles as it likes, so an attacker reads
// every value of a released cell, sorted. These tests check that this
// tells no more than the protected table.

// cellValues asks, under r, the count of the one answer cell the filters
// leave (no group_by), then one quantile per citizen in it, and returns
// the citizens' values of measure in cents, sorted; nil if the count or
// a quantile is withheld.
func cellValuesByQuantiles(t *testing.T, r *policy.AggregateRule, tab *stats.Table, measure string, filters []stats.Filter) []int64 {
	t.Helper()
	run := func(ms []stats.MeasureQuery) (stats.Answer, bool) {
		p, err := stats.Compile(r, stats.Query{Purpose: r.Purpose, Filters: filters, Measures: ms})
		var e *stats.Error
		if errors.As(err, &e) && e.Code == stats.CodeQuantileInvalid {
			return stats.Answer{}, false // the register refuses to read order statistics at will
		}
		if err != nil {
			t.Fatal(err)
		}
		return stats.Exact(p, tab, day), true
	}
	a, _ := run([]stats.MeasureQuery{{Op: "count"}})
	if a.Cells[0].Count == nil {
		return nil
	}
	n := int(*a.Cells[0].Count)
	if n < 2 {
		return nil
	}
	// q_i = (i + δ)/(n-1) reads the i-th order statistic plus δ of the
	// gap to the next; the last is read by q just under 1.
	const delta = 1e-12
	var ms []stats.MeasureQuery
	for i := range n {
		q := (float64(i) + delta) / float64(n-1)
		if i == n-1 {
			q = math.Nextafter(1, 0)
		}
		ms = append(ms, stats.MeasureQuery{Op: "quantile", Field: measure, Q: q})
	}
	a, ok := run(ms)
	if !ok {
		return nil
	}
	out := make([]int64, n)
	for i, v := range a.Cells[0].Values {
		if v == nil {
			return nil
		}
		out[i] = int64(math.Round(*v * 100))
	}
	return out
}

// TestQuantilesDoNotRevealADominatedSum: a département's income sum is
// suppressed for dominance (one citizen makes most of it), but its count
// is released, and so are its quantiles: reading them all gives back every
// income in it, the dominant one and the suppressed sum exactly.
func TestQuantilesDoNotRevealADominatedSum(t *testing.T) {
	f := newFixture(t, population(3000, 7))
	r := f.rule(t, "housing-policy-evaluation")
	tab, err := f.ix.Freeze(day).Table(r)
	if err != nil {
		t.Fatal(err)
	}
	lozere := []stats.Filter{{Field: "tax.department", In: []string{"48"}}}
	p, err := stats.Compile(r, stats.Query{Purpose: r.Purpose, Filters: lozere,
		Measures: []stats.MeasureQuery{{Op: "count"}, {Op: "sum", Field: "tax.reference_income"}}})
	if err != nil {
		t.Fatal(err)
	}
	a := stats.Exact(p, tab, day)
	if a.Cells[0].Values[1] != nil || a.Cells[0].Suppressed != "dominance" {
		t.Fatalf("Lozère's income sum is %q: the fixture has no dominance case", a.Cells[0].Suppressed)
	}
	want := f.oracle(true, func(c citizen) (string, bool) { return c.commune[:2], true })["48"]
	vals := cellValuesByQuantiles(t, r, tab, "tax.reference_income", lozere)
	if vals == nil {
		return // quantiles withheld: nothing read
	}
	var sum int64
	for _, v := range vals {
		sum += v
	}
	top := vals[len(vals)-1]
	t.Logf("Lozère: %d citizens, sum suppressed (dominance), read by %d quantiles: largest income %d cents (true %d), sum %d (true %d)",
		len(vals), len(vals), top, want.largestIncome, sum, want.income)
	if top == want.largestIncome || sum == want.income {
		t.Errorf("a dominance-suppressed sum is recomputed from released quantiles: dominant contributor %d cents, sum %d cents, both exact", top, sum)
	}
}

// TestQuantilesDoNotPinAPrimaryCount: the target is the only man aged 75+
// receiving MINIMUM_INCOME. His cell is a k-threshold primary, hidden by a
// hypercube so that no linear combination of released counts narrows it
// (TestTrackerAttackRecoversNoPrimary). But the values of the margins
// through his cell are released as quantiles: what each margin holds
// beyond its released interior cells is his cell plus other suppressed
// cells of that line, and the lines cross only in his cell. The multiset
// intersection of the three residues is his cell: its count and his
// income.
func TestQuantilesDoNotPinAPrimaryCount(t *testing.T) {
	pop, target := targetPopulation(1500, 11)
	f := newFixture(t, pop)
	r := smallRule(t, []string{"civilstatus.sex", "civilstatus.age_band", "finance.benefit"}, []string{"tax.reference_income"}, "")
	tab, err := f.ix.Freeze(day).Table(r)
	if err != nil {
		t.Fatal(err)
	}
	const measure = "tax.reference_income"
	cats := func(i int) []string { return tab.Dims[i].Breakdown.Categories }
	x := []string{"M", "75+", "MINIMUM_INCOME"}
	// residue of the line through x along dimension d: the line's values
	// minus those of each released cell of it.
	residue := func(d int) []int64 {
		var line []stats.Filter
		for i, name := range r.Dimensions {
			if i != d {
				line = append(line, stats.Filter{Field: name, In: []string{x[i]}})
			}
		}
		vals := cellValuesByQuantiles(t, r, tab, measure, line)
		if vals == nil {
			t.Logf("line along %s withheld", r.Dimensions[d])
			return nil
		}
		for _, c := range cats(d) {
			if c == x[d] {
				continue
			}
			cell := append(slices.Clone(line), stats.Filter{Field: r.Dimensions[d], In: []string{c}})
			if sub := cellValuesByQuantiles(t, r, tab, measure, cell); sub != nil {
				vals = multisetMinus(vals, sub)
			}
		}
		return vals
	}
	var got []int64
	lines := 0
	for d := range r.Dimensions {
		res := residue(d)
		if res == nil {
			continue
		}
		lines++
		if got == nil {
			got = res
		} else {
			got = multisetIntersect(got, res)
		}
	}
	t.Logf("%d lines through the target's cell read by quantiles; their residues meet in %v (target's income %d cents, cell count 1)",
		lines, got, pop[target].income)
	if lines >= 2 && len(got) == 1 && got[0] == pop[target].income {
		t.Errorf("the target's k-threshold cell is pinned to count 1 and his income %d cents is read, from released quantiles of the margins through it", got[0])
	}
}

func multisetMinus(a, b []int64) []int64 {
	out := slices.Clone(a)
	for _, v := range b {
		if i := slices.Index(out, v); i >= 0 {
			out = slices.Delete(out, i, i+1)
		}
	}
	return out
}

func multisetIntersect(a, b []int64) []int64 {
	var out []int64
	rest := slices.Clone(b)
	for _, v := range a {
		if i := slices.Index(rest, v); i >= 0 {
			out = append(out, v)
			rest = slices.Delete(rest, i, i+1)
		}
	}
	return out
}

// With the levels the register allows, a dominated sum's quantiles are
// withheld, and a released one keeps k citizens on each side and three
// significant digits.
func TestAllowedQuantilesHoldBack(t *testing.T) {
	f := newFixture(t, population(3000, 7))
	r := f.rule(t, "housing-policy-evaluation")
	tab, err := f.ix.Freeze(day).Table(r)
	if err != nil {
		t.Fatal(err)
	}
	var ms []stats.MeasureQuery
	for _, q := range stats.QuantileLevels {
		ms = append(ms, stats.MeasureQuery{Op: "quantile", Field: "tax.reference_income", Q: q})
	}
	p, err := stats.Compile(r, stats.Query{Purpose: r.Purpose, GroupBy: []string{"tax.department"}, Measures: append(ms, stats.MeasureQuery{Op: "count"})})
	if err != nil {
		t.Fatal(err)
	}
	a := stats.Exact(p, tab, day)
	released := 0
	for _, c := range a.Cells {
		for i, q := range stats.QuantileLevels {
			v := c.Values[i]
			if c.Group[0] == "48" && v != nil {
				t.Fatalf("Lozère, dominated by one income: quantile %v released (%v)", q, *v)
			}
			if v == nil {
				continue
			}
			released++
			if n := *c.Values[len(c.Values)-1]; n*min(q, 1-q) < 11 {
				t.Fatalf("%v: quantile %v of %v citizens released", c.Group, q, n)
			}
			if scaled := *v * math.Pow(10, 3-math.Ceil(math.Log10(math.Abs(*v)))); *v != 0 && math.Abs(scaled-math.Round(scaled)) > 1e-6 {
				t.Fatalf("%v: quantile %v = %v keeps more than three significant digits", c.Group, q, *v)
			}
		}
	}
	if released == 0 {
		t.Fatal("no quantile released at all")
	}
}
