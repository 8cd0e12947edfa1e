package sdc

import (
	"math"
	"slices"
)

// search finds, for one primary at a time, the least-cost feasible
// hypercube. It is reused across primaries so that a Protect call allocates
// once, not once per primary.
type search struct {
	t       *Table
	d       int
	m       int       // values per cell: the count, then each sum
	strides []int     // index step along each dimension
	vals    []float64 // value j of cell i at vals[i*m+j], count first

	// State of the current primary.
	c       []int       // its coordinates
	need    []float64   // the width each value needs, count first
	cand    [][]int     // per dimension, the partners worth visiting, in order
	corners []int       // cell index of each corner; 2^depth known at depth
	signs   []int8      // sign of each corner under a +1 shift of the primary
	mins    [][]float64 // per depth: min over negative corners, then over positive ones
	partner []int       // partner being visited per dimension

	found     bool
	bestCost  int64
	bestFresh int
	best      []int // partner per dimension of the best cube so far
}

func newSearch(t *Table) *search {
	d, m := len(t.Sizes), 1+t.measures()
	s := &search{
		t: t, d: d, m: m,
		strides: t.strides(),
		vals:    make([]float64, len(t.Cells)*m),
		c:       make([]int, d),
		need:    make([]float64, m),
		cand:    make([][]int, d),
		corners: make([]int, 1<<d),
		signs:   make([]int8, 1<<d),
		mins:    make([][]float64, d+1),
		partner: make([]int, d),
		best:    make([]int, d),
	}
	for i := range t.Cells {
		v := s.vals[i*m : (i+1)*m]
		v[0] = float64(t.Cells[i].Count)
		copy(v[1:], t.Cells[i].Sums)
	}
	for k := range s.mins {
		s.mins[k] = make([]float64, 2*m)
	}
	return s
}

// run searches the cube for the primary at index p and reports whether a
// feasible one exists; if so, s.best holds its partners.
func (s *search) run(p int) bool {
	cell := &s.t.Cells[p]
	s.need[0] = cell.NeedCount
	for j := 1; j < s.m; j++ {
		s.need[j] = 0
		if len(cell.NeedSums) > 0 {
			s.need[j] = cell.NeedSums[j-1]
		}
	}
	if allZero(s.need) {
		// A caller that forgot the need would otherwise get a suppression
		// anyone can recompute: a primary is at least never exact.
		s.need[0] = minNeed
	}
	s.c = s.t.Coord(p, s.c)
	s.found = false

	root := s.mins[0]
	for j := range s.m {
		root[j] = math.Inf(1)         // no negative corner yet: no upper limit
		root[s.m+j] = s.vals[p*s.m+j] // the primary itself bounds the way down
	}
	for dim := range s.d {
		s.cand[dim] = s.partners(p, dim, s.cand[dim][:0])
		if len(s.cand[dim]) == 0 {
			return false
		}
	}
	s.corners[0], s.signs[0] = p, 1
	s.dfs(0, 0, 0)
	return s.found
}

// minNeed is the count width a primary gets when the caller set no need:
// counts are integers, so one unit is the least width that is not zero.
const minNeed = 1

func allZero(v []float64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// sign is the factor a corner takes for choosing partner b instead of c in
// one dimension. Two categories move in opposite directions so that their
// total stays put; a category and its total move together so that the
// other categories stay put.
func (s *search) sign(dim, b int) int8 {
	total := s.t.Sizes[dim]
	if s.c[dim] == total || b == total {
		return 1
	}
	return -1
}

// partners lists the partners along dim that can belong to a feasible cube,
// cheapest first. The corner that differs from the primary in dim alone is
// in every cube using that partner, so a partner it makes infeasible is
// dropped here once rather than in every branch of the search.
func (s *search) partners(p, dim int, out []int) []int {
	probe := s.mins[1]
	for b := 0; b <= s.t.Sizes[dim]; b++ {
		if b == s.c[dim] {
			continue
		}
		copy(probe, s.mins[0])
		s.add(probe, p+(b-s.c[dim])*s.strides[dim], s.sign(dim, b))
		if s.feasible(probe) {
			out = append(out, b)
		}
	}
	base := p - s.c[dim]*s.strides[dim]
	slices.SortStableFunc(out, func(a, b int) int {
		ca, cb := s.cost(base+a*s.strides[dim]), s.cost(base+b*s.strides[dim])
		switch {
		case ca < cb:
			return -1
		case ca > cb:
			return 1
		}
		return 0 // stable: ties keep ascending partner order
	})
	return out
}

// cost of adding cell i to the suppressions: its count, since that is the
// information lost, and nothing if it is already withheld.
func (s *search) cost(i int) int64 {
	if s.t.Cells[i].Status.Suppressed() {
		return 0
	}
	return s.t.Cells[i].Count
}

// add folds the values of the corner at cell i with sign sg into mins.
func (s *search) add(mins []float64, i int, sg int8) {
	off := 0
	if sg > 0 {
		off = s.m
	}
	v := s.vals[i*s.m : (i+1)*s.m]
	for j, x := range v {
		if x < mins[off+j] {
			mins[off+j] = x
		}
	}
}

// feasible reports whether corners with these minima leave the attacker an
// interval at least as wide as needed for every value. Adding corners only
// lowers the minima, so a partial cube that fails cannot be completed.
func (s *search) feasible(mins []float64) bool {
	for j, n := range s.need {
		if mins[j]+mins[s.m+j] < n {
			return false
		}
	}
	return true
}

// better reports whether a partial cube of this cost may still beat the
// best complete one. Costs only grow with depth, so a tie already loses:
// the earlier cube in visiting order wins ties, which keeps Protect
// deterministic.
func (s *search) better(cost int64, fresh int) bool {
	if !s.found {
		return true
	}
	return cost < s.bestCost || cost == s.bestCost && fresh < s.bestFresh
}

// dfs extends the cube by one dimension: choosing partner b along dim
// doubles the known corners, each copy shifted to b and its sign
// multiplied by that of the dimension.
func (s *search) dfs(dim int, cost int64, fresh int) {
	if dim == s.d {
		s.found, s.bestCost, s.bestFresh = true, cost, fresh
		copy(s.best, s.partner)
		return
	}
	n := 1 << dim
	cur, next := s.mins[dim], s.mins[dim+1]
	for _, b := range s.cand[dim] {
		sg := s.sign(dim, b)
		shift := (b - s.c[dim]) * s.strides[dim]
		copy(next, cur)
		c, f := cost, fresh
		for k := range n {
			i := s.corners[k] + shift
			s.corners[n+k], s.signs[n+k] = i, s.signs[k]*sg
			if !s.t.Cells[i].Status.Suppressed() {
				c += s.t.Cells[i].Count
				f++
			}
			s.add(next, i, s.signs[n+k])
		}
		if !s.better(c, f) || !s.feasible(next) {
			continue
		}
		s.partner[dim] = b
		s.dfs(dim+1, c, f)
	}
}

// suppressBest marks the corners of the best cube Secondary where they are
// still released.
func (s *search) suppressBest(p int) {
	for mask := range 1 << s.d {
		i := p
		for dim := range s.d {
			if mask&(1<<dim) != 0 {
				i += (s.best[dim] - s.c[dim]) * s.strides[dim]
			}
		}
		if !s.t.Cells[i].Status.Suppressed() {
			s.t.Cells[i].Status = Secondary
		}
	}
}
