// Package lp is the attacker's solver in the disclosure-control tests: a
// dense two-phase simplex, small enough to read in full, that finds how
// far released figures let a suppressed one move. Only tests use it.
package lp

import "math"

// The solver: a dense two-phase simplex with Bland's rule, small
// enough to read in full. It is written here rather than taken from gonum
// because gonum's lp.Simplex requires A to have full row rank, and the
// additivity equations of a table with margins never do (every grand total
// is reached along each dimension); phase one below drops the redundant
// rows itself. Bland's rule is slow but cannot cycle on these highly
// degenerate systems.

const eps = 1e-9

// Feasible is {x >= 0 : A x = b} after phase one: a tableau whose basis is
// feasible, ready to optimise any objective.
type Feasible struct {
	n     int         // original variables
	rows  [][]float64 // each n coefficients then the right-hand side
	basis []int
}

// Vars is how many variables the system has.
func (lp *Feasible) Vars() int { return lp.n }

// NewFeasible runs phase one. It reports false if the system has no
// non-negative solution.
func NewFeasible(A [][]float64, b []float64, n int) (*Feasible, bool) {
	m := len(A)
	width := n + m + 1 // variables, artificials, right-hand side
	rows := make([][]float64, m)
	basis := make([]int, m)
	obj := make([]float64, width)
	for i := range m {
		row := make([]float64, width)
		sign := 1.0
		if b[i] < 0 {
			sign = -1
		}
		for j := range n {
			row[j] = sign * A[i][j]
		}
		row[n+i] = 1
		row[width-1] = sign * b[i]
		rows[i], basis[i] = row, n+i
		// Phase-one reduced costs: minus the sum of the rows over the
		// original variables, so that the artificials start basic.
		for j := range n {
			obj[j] -= row[j]
		}
		obj[width-1] -= row[width-1]
	}
	if !pivotToOptimum(rows, obj, basis, n) {
		panic("phase one unbounded") // cannot be: the artificials are bounded below by 0
	}
	if -obj[width-1] > eps*(1+maxAbs(b)) {
		return nil, false
	}
	// Drive the artificials out of the basis; a row where no original
	// variable can replace one is a redundant equation and goes.
	// New slices: pivots below still walk every row, so kept must not
	// alias rows.
	var kept [][]float64
	var keptBasis []int
	for i := range rows {
		if basis[i] >= n {
			col := -1
			for j := range n {
				if math.Abs(rows[i][j]) > eps {
					col = j
					break
				}
			}
			if col < 0 {
				continue
			}
			pivot(rows, nil, basis, i, col)
		}
		kept = append(kept, rows[i])
		keptBasis = append(keptBasis, basis[i])
	}
	lp := &Feasible{n: n, basis: keptBasis}
	for _, row := range kept {
		r := make([]float64, n+1)
		copy(r, row[:n])
		r[n] = row[width-1]
		lp.rows = append(lp.rows, r)
	}
	return lp, true
}

// minimize returns min c·x over the feasible set, or -Inf if unbounded.
// The tableau is copied, so one phase one serves every objective.
func (lp *Feasible) Minimize(c []float64) float64 {
	n := lp.n
	rows := make([][]float64, len(lp.rows))
	for i, r := range lp.rows {
		rows[i] = append([]float64(nil), r...)
	}
	basis := append([]int(nil), lp.basis...)
	obj := make([]float64, n+1)
	copy(obj, c)
	for i, r := range rows {
		cb := c[basis[i]]
		if cb == 0 {
			continue
		}
		for j := range obj {
			obj[j] -= cb * r[j]
		}
	}
	if !pivotToOptimum(rows, obj, basis, n) {
		return math.Inf(-1)
	}
	return -obj[n]
}

// pivotToOptimum runs the simplex on columns below limit with Bland's rule:
// the entering column is the first with a negative reduced cost, the
// leaving row the first basis index among the tightest ratios. It reports
// false if the objective is unbounded below.
func pivotToOptimum(rows [][]float64, obj []float64, basis []int, limit int) bool {
	rhs := len(obj) - 1
	for {
		col := -1
		for j := range limit {
			if obj[j] < -eps {
				col = j
				break
			}
		}
		if col < 0 {
			return true
		}
		row := -1
		best := math.Inf(1)
		for i, r := range rows {
			if r[col] <= eps {
				continue
			}
			ratio := r[rhs] / r[col]
			if ratio < best-eps || math.Abs(ratio-best) <= eps && basis[i] < basis[row] {
				row, best = i, ratio
			}
		}
		if row < 0 {
			return false
		}
		pivot(rows, obj, basis, row, col)
	}
}

func pivot(rows [][]float64, obj []float64, basis []int, row, col int) {
	pr := rows[row]
	inv := 1 / pr[col]
	for j := range pr {
		pr[j] *= inv
	}
	pr[col] = 1
	eliminate := func(r []float64) {
		f := r[col]
		if f == 0 {
			return
		}
		for j := range r {
			r[j] -= f * pr[j]
		}
		r[col] = 0
	}
	for i, r := range rows {
		if i != row {
			eliminate(r)
		}
	}
	if obj != nil {
		eliminate(obj)
	}
	basis[row] = col
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}
