package lp_test

import (
	"math"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/stats/sdc/lp"
)

// TestSimplex checks the solver on problems solved by hand, redundant and
// degenerate rows included, since the attacker test trusts it.
func TestSimplex(t *testing.T) {
	tests := []struct {
		name     string
		A        [][]float64
		b        []float64
		c        []float64
		want     float64
		feasible bool
	}{
		{"x+y=4 min x", [][]float64{{1, 1}}, []float64{4}, []float64{1, 0}, 0, true},
		{"x+y=4 max x", [][]float64{{1, 1}}, []float64{4}, []float64{-1, 0}, -4, true},
		{"redundant rows", [][]float64{{1, 1}, {2, 2}, {1, 1}}, []float64{4, 8, 4}, []float64{-1, 0}, -4, true},
		{"negative rhs", [][]float64{{-1, 1}}, []float64{-3}, []float64{1, 0}, 3, true},
		{"x-y=1 max x unbounded", [][]float64{{1, -1}}, []float64{1}, []float64{-1, 0}, math.Inf(-1), true},
		{"infeasible", [][]float64{{1, 1}}, []float64{-1}, []float64{1, 0}, 0, false},
		{
			// A 2×2 table with margins, cells a b / c d suppressed, row
			// totals 3 and 7, column totals 4 and 6: a ranges over
			// [0, 3].
			"2x2 max a",
			[][]float64{{1, 1, 0, 0}, {0, 0, 1, 1}, {1, 0, 1, 0}, {0, 1, 0, 1}},
			[]float64{3, 7, 4, 6}, []float64{-1, 0, 0, 0}, -3, true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp, ok := lp.NewFeasible(tt.A, tt.b, len(tt.c))
			if ok != tt.feasible {
				t.Fatalf("feasible = %v, want %v", ok, tt.feasible)
			}
			if !ok {
				return
			}
			if got := lp.Minimize(tt.c); math.Abs(got-tt.want) > 1e-9 && got != tt.want {
				t.Fatalf("min = %g, want %g", got, tt.want)
			}
		})
	}
}
