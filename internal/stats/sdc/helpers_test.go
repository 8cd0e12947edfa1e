package sdc

import (
	"math"
	"math/rand/v2"
)

// withMargins builds a table from its interior counts (row-major over
// Sizes[i], margins excluded) and fills every margin by addition, so that
// tests state only what they mean. Sums are ten times the counts.
func withMargins(sizes []int, counts []int64) *Table {
	tab := NewTable(sizes, 1)
	inner := make([]int, len(sizes))
	for n, c := range counts {
		rem := n
		for k := len(sizes) - 1; k >= 0; k-- {
			inner[k] = rem % sizes[k]
			rem /= sizes[k]
		}
		addInterior(tab, inner, c, []float64{10 * float64(c)})
	}
	return tab
}

// addInterior adds a count and sums to the interior cell at inner and to
// each of its 2^d - 1 margins.
func addInterior(tab *Table, inner []int, count int64, sums []float64) {
	d := len(tab.Sizes)
	coord := make([]int, d)
	for mask := range 1 << d {
		for k := range d {
			coord[k] = inner[k]
			if mask&(1<<k) != 0 {
				coord[k] = tab.Sizes[k]
			}
		}
		c := &tab.Cells[tab.Index(coord)]
		c.Count += count
		for j, v := range sums {
			c.Sums[j] += v
		}
	}
}

// randomTable builds an additive table with many small cells, as a
// breakdown of citizens by fine categories gives: a third of the interior
// cells have 0 to 4 contributors. Cells below k are KThreshold primaries
// needing a count width of k and a tenth of their sums; one cell in twenty
// among the others is a Dominance primary needing 15% of its sums.
func randomTable(r *rand.Rand, sizes []int, measures int, k int64) *Table {
	tab := NewTable(sizes, measures)
	n := 1
	for _, s := range sizes {
		n *= s
	}
	inner := make([]int, len(sizes))
	sums := make([]float64, measures)
	for i := range n {
		rem := i
		for d := len(sizes) - 1; d >= 0; d-- {
			inner[d] = rem % sizes[d]
			rem /= sizes[d]
		}
		var count int64
		switch r.IntN(3) {
		case 0:
			count = r.Int64N(5)
		case 1:
			count = 5 + r.Int64N(20)
		default:
			count = int64(math.Exp(2 + 2*r.Float64()))
		}
		for j := range sums {
			// Whole numbers keep the margins exact, so additivity holds
			// to the bit and the LP test need not allow for rounding.
			sums[j] = float64(count * (1 + r.Int64N(50)))
		}
		addInterior(tab, inner, count, sums)
	}
	markPrimaries(r, tab, k)
	return tab
}

func markPrimaries(r *rand.Rand, tab *Table, k int64) {
	for i := range tab.Cells {
		c := &tab.Cells[i]
		switch {
		case c.Count > 0 && c.Count < k:
			c.Status, c.NeedCount = KThreshold, float64(k)
			c.NeedSums = scaled(c.Sums, 0.1)
		case c.Count >= k && r.IntN(20) == 0:
			c.Status = Dominance
			c.NeedSums = scaled(c.Sums, 0.15)
		}
	}
}

func scaled(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for j, x := range v {
		out[j] = f * x
	}
	return out
}
