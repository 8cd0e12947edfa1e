package sdc

import (
	"cmp"
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
	order   []int       // dimensions in the order the search extends the cube
	// restCost and restFresh bound from below what depths depth.. still
	// add: each cube contains, per dimension, the corner that differs from
	// the primary in that dimension alone, and it costs at least the
	// cheapest such corner.
	restCost  []int64
	restFresh []int

	visited int // cube extensions tried, over all primaries: the search's work

	found     bool
	bestCost  int64
	bestFresh int
	best      []int // partner per dimension of the best cube so far
}

func newSearch(t *Table) *search {
	d, m := len(t.Sizes), 1+t.measures()
	s := &search{
		t: t, d: d, m: m,
		strides:   t.strides(),
		vals:      make([]float64, len(t.Cells)*m),
		c:         make([]int, d),
		need:      make([]float64, m),
		cand:      make([][]int, d),
		corners:   make([]int, 1<<d),
		signs:     make([]int8, 1<<d),
		mins:      make([][]float64, d+1),
		partner:   make([]int, d),
		order:     make([]int, d),
		restCost:  make([]int64, d+1),
		restFresh: make([]int, d+1),
		best:      make([]int, d),
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
	for dim := range s.d {
		s.order[dim] = dim
	}
	// Fewest candidates first: the wide dimension comes last, where the
	// bounds are tightest, instead of multiplying every level below it.
	// Measured on BenchmarkProtect: half the extensions of index order, a
	// quarter of the reverse.
	slices.SortStableFunc(s.order, func(a, b int) int { return cmp.Compare(len(s.cand[a]), len(s.cand[b])) })
	for depth := s.d - 1; depth >= 0; depth-- {
		// Candidates are sorted by (cost, fresh): the first is the least.
		dim := s.order[depth]
		i := p + (s.cand[dim][0]-s.c[dim])*s.strides[dim]
		s.restCost[depth] = s.restCost[depth+1] + s.cost(i)
		s.restFresh[depth] = s.restFresh[depth+1] + s.fresh(i)
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
	// Cheapest first, and among equals a suppressed cell before a released
	// zero, so that the first candidate is also the least by the search's
	// own order and bounds the deeper dimensions correctly.
	slices.SortStableFunc(out, func(a, b int) int {
		ia, ib := base+a*s.strides[dim], base+b*s.strides[dim]
		if c := cmp.Compare(s.cost(ia), s.cost(ib)); c != 0 {
			return c
		}
		return cmp.Compare(s.fresh(ia), s.fresh(ib)) // stable: then ascending partner
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

// fresh is 1 if suppressing cell i is a new suppression.
func (s *search) fresh(i int) int {
	if s.t.Cells[i].Status.Suppressed() {
		return 0
	}
	return 1
}

// add folds the values of the corner at cell i with sign sg into mins.
func (s *search) add(mins []float64, i int, sg int8) {
	off := 0
	if sg > 0 {
		off = s.m
	}
	if s.t.Cells[i].Known {
		for j := range mins {
			mins[j] = 0
		}
		return
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
func (s *search) dfs(depth int, cost int64, fresh int) {
	if depth == s.d {
		s.found, s.bestCost, s.bestFresh = true, cost, fresh
		copy(s.best, s.partner)
		return
	}
	dim := s.order[depth]
	n := 1 << depth
	cur, next := s.mins[depth], s.mins[depth+1]
	for _, b := range s.cand[dim] {
		s.visited++
		sg := s.sign(dim, b)
		shift := (b - s.c[dim]) * s.strides[dim]
		copy(next, cur)
		// Lower bound of the cube's cost: what it has so far plus the
		// cheapest of what the deeper dimensions must add. Checked per
		// corner, so a costly branch stops at its first costly corner.
		c, f := cost+s.restCost[depth+1], fresh+s.restFresh[depth+1]
		cut := -1
		for k := range n {
			i := s.corners[k] + shift
			s.corners[n+k], s.signs[n+k] = i, s.signs[k]*sg
			if !s.t.Cells[i].Status.Suppressed() {
				c += s.t.Cells[i].Count
				f++
				if !s.better(c, f) {
					cut = k
					break
				}
			}
			s.add(next, i, s.signs[n+k])
		}
		if cut == 0 {
			// Corner 0 is the primary shifted along dim alone, the key
			// the candidates are sorted by: every later one costs as
			// much or more.
			break
		}
		if cut > 0 || !s.feasible(next) {
			continue
		}
		c, f = c-s.restCost[depth+1], f-s.restFresh[depth+1]
		s.partner[dim] = b
		s.dfs(depth+1, c, f)
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
