package sdc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSearchIsExhaustive: the branch and bound prunes, reorders dimensions
// and stops early; none of it may change the cost of the cube it finds.
// Every primary's choice is compared with a plain enumeration of all cubes.
func TestSearchIsExhaustive(t *testing.T) {
	shapes := [][]int{{5}, {3, 4}, {4, 2}, {3, 2, 3}, {2, 3, 2, 2}}
	for _, sizes := range shapes {
		for seed := range uint64(30) {
			t.Run(fmt.Sprintf("%v/seed%d", sizes, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 99))
				tab := randomTable(r, sizes, 1+int(seed%2), 5)
				if seed%3 == 0 {
					// Counts of 1 or 10 only: cubes tie on cost all the
					// time, which is where the fresh count decides.
					tab = flatTable(r, sizes)
				}
				s := newSearch(tab)
				for p := range tab.Cells {
					if !tab.Cells[p].Status.Primary() {
						continue
					}
					found := s.run(p)
					cost, fresh, ok := bruteForce(tab, p, s.need)
					if found != ok || found && (cost != s.bestCost || fresh != s.bestFresh) {
						t.Fatalf("primary %v: search found=%v cost=%d fresh=%d, enumeration found=%v cost=%d fresh=%d",
							tab.Coord(p, nil), found, s.bestCost, s.bestFresh, ok, cost, fresh)
					}
					if found {
						s.suppressBest(p)
					}
				}
			})
		}
	}
}

// bruteForce enumerates every cube of the primary at p and returns the
// least (cost, fresh) among those wide enough for need.
func bruteForce(tab *Table, p int, need []float64) (int64, int, bool) {
	d, m := len(tab.Sizes), 1+tab.measures()
	c := tab.Coord(p, nil)
	b := make([]int, d)
	corner := make([]int, d)
	found := false
	var bestCost int64
	var bestFresh int
	var walk func(dim int)
	walk = func(dim int) {
		if dim < d {
			for v := 0; v <= tab.Sizes[dim]; v++ {
				if v != c[dim] {
					b[dim] = v
					walk(dim + 1)
				}
			}
			return
		}
		neg, pos := make([]float64, m), make([]float64, m)
		for j := range m {
			neg[j], pos[j] = math.Inf(1), math.Inf(1)
		}
		var cost int64
		fresh := 0
		for mask := range 1 << d {
			sign := 1
			for k := range d {
				corner[k] = c[k]
				if mask&(1<<k) != 0 {
					corner[k] = b[k]
					if c[k] != tab.Sizes[k] && b[k] != tab.Sizes[k] {
						sign = -sign
					}
				}
			}
			cell := tab.Cells[tab.Index(corner)]
			if !cell.Status.Suppressed() {
				cost += cell.Count
				fresh++
			}
			for j := range m {
				v := float64(cell.Count)
				if j > 0 {
					v = cell.Sums[j-1]
				}
				if sign < 0 {
					neg[j] = min(neg[j], v)
				} else {
					pos[j] = min(pos[j], v)
				}
			}
		}
		for j := range m {
			if neg[j]+pos[j] < need[j] {
				return
			}
		}
		if !found || cost < bestCost || cost == bestCost && fresh < bestFresh {
			found, bestCost, bestFresh = true, cost, fresh
		}
	}
	walk(0)
	return bestCost, bestFresh, found
}

// flatTable has interior counts of 1, 0 or 10 and the KThreshold primaries
// of k = 5 among them and its margins.
func flatTable(r *rand.Rand, sizes []int) *Table {
	n := 1
	for _, s := range sizes {
		n *= s
	}
	counts := make([]int64, n)
	for i := range counts {
		counts[i] = []int64{1, 0, 10, 10}[r.IntN(4)]
	}
	tab := withMargins(sizes, counts)
	for i := range tab.Cells {
		if c := &tab.Cells[i]; c.Count > 0 && c.Count < 5 {
			c.Status, c.NeedCount = KThreshold, 5
		}
	}
	return tab
}
