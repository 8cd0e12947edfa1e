package sdc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/stats/sdc/lp"
)

// attack returns, for every primary of a protected table and every value
// (count first, then each sum), the attacker's feasible interval: the
// minimum and maximum of the cell over all non-negative tables that agree
// with the released cells and satisfy every additivity equation.
func attack(t *testing.T, tab *Table) map[int][][2]float64 {
	t.Helper()
	varOf := make([]int, len(tab.Cells))
	n := 0
	for i, c := range tab.Cells {
		varOf[i] = -1
		if c.Status.Suppressed() {
			varOf[i] = n
			n++
		}
	}
	out := make(map[int][][2]float64)
	for j := range 1 + tab.measures() {
		value := func(i int) float64 {
			if j == 0 {
				return float64(tab.Cells[i].Count)
			}
			return tab.Cells[i].Sums[j-1]
		}
		A, b := equations(tab, varOf, n, value)
		sol, ok := lp.NewFeasible(A, b, n)
		if !ok {
			t.Fatalf("value %d: the true table does not satisfy its own equations", j)
		}
		c := make([]float64, n)
		for i, cell := range tab.Cells {
			if !cell.Status.Primary() {
				continue
			}
			v := varOf[i]
			c[v] = 1
			lo := sol.Minimize(c)
			c[v] = -1
			hi := -sol.Minimize(c)
			c[v] = 0
			if lo > value(i)+1e-6 || hi < value(i)-1e-6 {
				t.Fatalf("cell %v value %d: true %g outside [%g, %g]: the solver is wrong",
					tab.Coord(i, nil), j, value(i), lo, hi)
			}
			out[i] = append(out[i], [2]float64{lo, hi})
		}
	}
	return out
}

// equations writes every additivity equation that involves a suppressed
// cell, total minus categories along each line, with the released cells
// moved to the right-hand side.
func equations(tab *Table, varOf []int, n int, value func(int) float64) ([][]float64, []float64) {
	var A [][]float64
	var b []float64
	st := tab.strides()
	coord := make([]int, len(tab.Sizes))
	for dim, size := range tab.Sizes {
		for start := range tab.Cells {
			if coord = tab.Coord(start, coord); coord[dim] != 0 {
				continue
			}
			row := make([]float64, n)
			rhs, used := 0.0, false
			for k := 0; k <= size; k++ {
				i := start + k*st[dim]
				coef := -1.0
				if k == size {
					coef = 1
				}
				if v := varOf[i]; v >= 0 {
					row[v], used = coef, true
				} else {
					rhs -= coef * value(i)
				}
			}
			if used {
				A, b = append(A, row), append(b, rhs)
			}
		}
	}
	return A, b
}

// TestAttackerLP is the proof that matters: after Protect, an attacker
// solving the linear programs of the released table cannot pin any primary
// to an interval narrower than its need. It checks the sign rule too: a
// wrong sign would give cubes whose shift breaks an equation, and the LP
// would find the narrower interval.
func TestAttackerLP(t *testing.T) {
	shapes := [][]int{{6}, {3, 4}, {5, 5}, {2, 7}, {3, 3, 3}, {2, 4, 3}, {2, 2, 3, 2}, {3, 2, 2, 3}}
	primaries, unprovenTotal := 0, 0
	for _, sizes := range shapes {
		for seed := range uint64(6) {
			measures := 1 + int(seed%2)
			t.Run(fmt.Sprintf("%v/seed%d", sizes, seed), func(t *testing.T) {
				tab := randomTable(rand.New(rand.NewPCG(seed, uint64(len(sizes)))), sizes, measures, 5)
				unproven, err := tab.Protect()
				if err != nil {
					t.Fatal(err)
				}
				unprovenTotal += unproven
				for i, ivs := range attack(t, tab) {
					primaries++
					c := tab.Cells[i]
					for j, iv := range ivs {
						need := needOf(c, j)
						if w := iv[1] - iv[0]; w < need-1e-6 {
							t.Errorf("primary %v value %d: attacker interval [%g, %g] is %g wide, need %g",
								tab.Coord(i, nil), j, iv[0], iv[1], w, need)
						}
					}
				}
			})
		}
	}
	t.Logf("%d primaries checked by LP, %d unproven by Protect", primaries, unprovenTotal)
	if unprovenTotal != 0 {
		t.Errorf("Protect left %d primaries unproven", unprovenTotal)
	}
}

// needOf is the width Protect promises for value j of a primary: its need,
// or one count unit when the caller set no need at all.
func needOf(c Cell, j int) float64 {
	if c.NeedCount == 0 && allZero(c.NeedSums) {
		if j == 0 {
			return minNeed
		}
		return 0
	}
	if j == 0 {
		return c.NeedCount
	}
	if len(c.NeedSums) == 0 {
		return 0
	}
	return c.NeedSums[j-1]
}

// TestAttackerCatchesDisclosure is the control: without Protect the LP must
// recompute a lone primary exactly, or the test above proves nothing.
func TestAttackerCatchesDisclosure(t *testing.T) {
	tab := withMargins([]int{3, 3}, []int64{1, 5, 20, 6, 30, 40, 25, 50, 60})
	p := tab.Index([]int{0, 0})
	tab.Cells[p].Status, tab.Cells[p].NeedCount = KThreshold, 3
	iv := attack(t, tab)[p][0]
	if iv[0] != 1 || iv[1] != 1 {
		t.Fatalf("lone primary: attacker interval [%g, %g], want [1, 1]", iv[0], iv[1])
	}
	// A wrong pattern: the row partner only. Row 0's total still pins the
	// pair, column 0's total pins the primary alone.
	tab.Cells[tab.Index([]int{0, 1})].Status = Secondary
	iv = attack(t, tab)[p][0]
	if iv[1]-iv[0] != 0 {
		t.Fatalf("half a cube: attacker interval [%g, %g], want a point", iv[0], iv[1])
	}
	if math.IsInf(iv[1], 1) {
		t.Fatal("unbounded")
	}
}
