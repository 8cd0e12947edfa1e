package sdc

import (
	"fmt"
	"math"
)

// MaxDims is the number of dimensions a Table may have. The hypercube search
// visits up to the product of the sizes per primary, and 2^d corners per
// cube: past 4 dimensions neither stays cheap enough for an on-line query.
const MaxDims = 4

// maxCells bounds a table so that index arithmetic cannot overflow and a
// malformed Sizes cannot make NewTable allocate without limit.
const maxCells = 1 << 26

// Table is a d-dimensional table (1 <= d <= MaxDims) with margins: dimension
// i has Sizes[i] categories, and index Sizes[i] is its total. Cells are
// row-major over (Sizes[i]+1), so the last dimension varies fastest.
type Table struct {
	Sizes []int
	Cells []Cell
}

// Cell is one cell of a Table, interior or margin alike.
type Cell struct {
	Count  int64     // contributing units (citizens), >= 0
	Sums   []float64 // one per measure, each >= 0 (may be nil / empty)
	Status Status
	// Need is the protection the cell requires when primary: the
	// attacker's feasible interval for Count must be at least NeedCount
	// wide, and for Sums[j] at least NeedSums[j] wide. Set by the caller
	// for primaries (e.g. NeedCount = k, NeedSums[j] = p * Sums[j]). A nil
	// NeedSums needs no protection of the sums.
	NeedCount float64
	NeedSums  []float64
	// Known marks a cell the attacker knows exactly from elsewhere (an
	// empty cell, whose zero count and sums are published): it moves with
	// no shift, so no cube may use it as a corner.
	Known bool
}

// NewTable allocates every cell, margins included, each with Sums of length
// measures. It panics on sizes Protect would reject, as make does on a
// negative length: the sizes come from the caller's code, not from input.
func NewTable(sizes []int, measures int) *Table {
	n, err := cellCount(sizes)
	if err != nil {
		panic(fmt.Sprintf("sdc: new table: %v", err))
	}
	if measures < 0 {
		panic("sdc: new table: negative number of measures")
	}
	t := &Table{Sizes: append([]int(nil), sizes...), Cells: make([]Cell, n)}
	// One backing array: a 35,000-cell table would otherwise make as many
	// small allocations.
	sums := make([]float64, n*measures)
	for i := range t.Cells {
		t.Cells[i].Sums = sums[i*measures : (i+1)*measures : (i+1)*measures]
	}
	return t
}

// cellCount is the number of cells of a table of these sizes, margins
// included.
func cellCount(sizes []int) (int, error) {
	if len(sizes) < 1 || len(sizes) > MaxDims {
		return 0, fmt.Errorf("%d dimensions, want 1 to %d: %w", len(sizes), MaxDims, ErrShape)
	}
	n := 1
	for i, s := range sizes {
		if s < 1 {
			return 0, fmt.Errorf("dimension %d has %d categories: %w", i, s, ErrShape)
		}
		if n > maxCells/(s+1) {
			return 0, fmt.Errorf("more than %d cells: %w", maxCells, ErrShape)
		}
		n *= s + 1
	}
	return n, nil
}

// Index is the position in Cells of the cell at coord, or -1 if coord has
// the wrong length or a coordinate outside 0..Sizes[i].
func (t *Table) Index(coord []int) int {
	if len(coord) != len(t.Sizes) {
		return -1
	}
	idx := 0
	for i, s := range t.Sizes {
		c := coord[i]
		if c < 0 || c > s {
			return -1
		}
		idx = idx*(s+1) + c
	}
	return idx
}

// Coord writes the coordinates of Cells[i] into coord, reusing its storage
// when large enough, and returns it.
func (t *Table) Coord(i int, coord []int) []int {
	d := len(t.Sizes)
	if cap(coord) < d {
		coord = make([]int, d)
	}
	coord = coord[:d]
	for k := d - 1; k >= 0; k-- {
		n := t.Sizes[k] + 1
		coord[k] = i % n
		i /= n
	}
	return coord
}

// strides are the index steps of one unit along each dimension.
func (t *Table) strides() []int {
	st := make([]int, len(t.Sizes))
	s := 1
	for k := len(t.Sizes) - 1; k >= 0; k-- {
		st[k] = s
		s *= t.Sizes[k] + 1
	}
	return st
}

// measures is the number of sums per cell, taken from the first cell;
// validate checks that every cell agrees.
func (t *Table) measures() int {
	if len(t.Cells) == 0 {
		return 0
	}
	return len(t.Cells[0].Sums)
}

// validate rejects a table on which the protection proof would not hold:
// every corner argument assumes non-negative cells and exact additivity.
func (t *Table) validate() error {
	n, err := cellCount(t.Sizes)
	if err != nil {
		return err
	}
	if len(t.Cells) != n {
		return fmt.Errorf("%d cells for sizes %v, want %d: %w", len(t.Cells), t.Sizes, n, ErrShape)
	}
	m := t.measures()
	for i := range t.Cells {
		if err := t.validateCell(i, m); err != nil {
			return err
		}
	}
	return t.checkAdditive(m)
}

func (t *Table) validateCell(i, m int) error {
	c := &t.Cells[i]
	if len(c.Sums) != m {
		return fmt.Errorf("cell %v has %d sums, want %d: %w", t.Coord(i, nil), len(c.Sums), m, ErrShape)
	}
	if len(c.NeedSums) != 0 && len(c.NeedSums) != m {
		return fmt.Errorf("cell %v has %d needs for %d sums: %w", t.Coord(i, nil), len(c.NeedSums), m, ErrShape)
	}
	if c.Status > Secondary {
		return fmt.Errorf("cell %v has status %d: %w", t.Coord(i, nil), c.Status, ErrValue)
	}
	if c.Count < 0 || !nonNegative(c.NeedCount) {
		return fmt.Errorf("cell %v count %d need %g: %w", t.Coord(i, nil), c.Count, c.NeedCount, ErrValue)
	}
	for j, v := range c.Sums {
		if !nonNegative(v) {
			return fmt.Errorf("cell %v sum %d is %g: %w", t.Coord(i, nil), j, v, ErrValue)
		}
	}
	for j, v := range c.NeedSums {
		if !nonNegative(v) {
			return fmt.Errorf("cell %v need of sum %d is %g: %w", t.Coord(i, nil), j, v, ErrValue)
		}
	}
	return nil
}

func nonNegative(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

// sumTolerance is the relative error allowed between a total of float sums
// and the sum of its categories: the caller adds in its own order, so the
// last bits may differ.
const sumTolerance = 1e-9

// checkAdditive checks every line of the table: along each dimension, with
// the other coordinates fixed (totals included), the total equals the sum of
// the categories.
func (t *Table) checkAdditive(m int) error {
	st := t.strides()
	coord := make([]int, len(t.Sizes))
	sums := make([]float64, m)
	for dim, size := range t.Sizes {
		for start := range t.Cells {
			coord = t.Coord(start, coord)
			if coord[dim] != 0 {
				continue
			}
			var count int64
			clear(sums)
			for k := range size {
				c := &t.Cells[start+k*st[dim]]
				count += c.Count
				for j, v := range c.Sums {
					sums[j] += v
				}
			}
			total := &t.Cells[start+size*st[dim]]
			if total.Count != count {
				return fmt.Errorf("count of %v is %d, its categories along dimension %d add to %d: %w",
					t.Coord(start+size*st[dim], nil), total.Count, dim, count, ErrNotAdditive)
			}
			for j, v := range total.Sums {
				if math.Abs(v-sums[j]) > sumTolerance*math.Max(1, v) {
					return fmt.Errorf("sum %d of %v is %g, its categories along dimension %d add to %g: %w",
						j, t.Coord(start+size*st[dim], nil), v, dim, sums[j], ErrNotAdditive)
				}
			}
		}
	}
	return nil
}
