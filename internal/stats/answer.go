package stats

import (
	"math"
	"slices"
	"time"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/stats/sdc"
	"github.com/passerelle-bus/passerelle/policy"
)

// Answer is a released table.
type Answer struct {
	// DecisionID is the audit event's id, set by whoever audits it.
	DecisionID string
	Rule       string
	LegalBasis string
	Purpose    string
	// SnapshotAt is when the snapshot the answer is cut from started.
	SnapshotAt time.Time
	GroupBy    []string
	// Columns name the measures, in the cells' order.
	Columns    []string
	Cells      []Cell
	Disclosure Disclosure
	// Budget, for a noisy answer, is the requester's account after it.
	Budget *Budget
}

// Budget is a requester's privacy budget under a rule, in ε.
type Budget struct {
	Period    string  `json:"period"`
	Spent     float64 `json:"spent"`
	Total     float64 `json:"total"`
	Remaining float64 `json:"remaining"`
}

// Cell is a cell of an answer: nil values are suppressed.
type Cell struct {
	Group  []string // the category of each GroupBy dimension
	Count  *float64
	Values []*float64 // per column; Count is also a column when asked
	// Suppressed is "", "k-threshold", "dominance" or "secondary".
	Suppressed string
}

// Disclosure says what protected the answer.
type Disclosure struct {
	K              int     `json:"k"`
	DominanceN     int     `json:"dominance_n"`
	DominanceShare float64 `json:"dominance_share"`
	Protection     float64 `json:"protection"`
	// CountProtection is the least width of a suppressed count's interval.
	CountProtection int `json:"count_protection"`
	// Secondary names the secondary suppression method.
	Secondary string `json:"secondary"`
	// Table are the dimensions of the rule's table the answer is cut from.
	Table []string `json:"table"`
	// FiguresUnproven counts primary cells of that table the method could
	// not prove protected (0 unless the table is degenerate).
	FiguresUnproven int         `json:"figures_unproven"`
	Noise           *NoiseUsed  `json:"noise"`
	Counts          CellsByKind `json:"cells"`
}

// CellsByKind counts an answer's cells by what happened to them: the
// audit event carries these, never a value.
type CellsByKind struct {
	Released   int `json:"released"`
	KThreshold int `json:"k_threshold"`
	Dominance  int `json:"dominance"`
	Secondary  int `json:"secondary"`
}

// NoiseUsed describes the noise of a noisy answer.
type NoiseUsed struct {
	Mechanism string  `json:"mechanism"`
	Epsilon   float64 `json:"epsilon"`
	// Scales are the Laplace scales per noisy figure ("count",
	// "sum(tax.tax_due)"), in the figure's unit (cents for money).
	Scales map[string]float64 `json:"scales"`
	// Bounds clip each citizen's contribution to a sum.
	Bounds map[string]int64 `json:"bounds,omitempty"`
}

// SecondaryMethod is what Disclosure.Secondary says.
const SecondaryMethod = "hypercube"

// answerShape enumerates an answer's cells: the categories of the grouped
// dimensions, as the filters allow them.
func answerShape(p *Plan, t *Table) [][]int {
	var shape [][]int
	for _, g := range p.GroupBy {
		shape = append(shape, allowed(p, t, g))
	}
	return shape
}

func allowed(p *Plan, t *Table, dim int) []int {
	if p.Allowed[dim] != nil {
		return p.Allowed[dim]
	}
	all := make([]int, len(t.Dims[dim].Breakdown.Categories))
	for i := range all {
		all[i] = i
	}
	return all
}

// each calls fn with every combination of one value per list.
func each(lists [][]int, fn func(pick []int)) {
	pick := make([]int, len(lists))
	var rec func(i int)
	rec = func(i int) {
		if i == len(lists) {
			fn(pick)
			return
		}
		for _, v := range lists[i] {
			pick[i] = v
			rec(i + 1)
		}
	}
	rec(0)
}

func (p *Plan) header(t *Table, at time.Time) Answer {
	r := p.Rule
	a := Answer{Rule: r.ID, LegalBasis: r.LegalBasis, Purpose: r.Purpose, SnapshotAt: at,
		Disclosure: Disclosure{K: r.Disclosure.K, DominanceN: r.Disclosure.DominanceN, DominanceShare: r.Disclosure.DominanceShare,
			Protection: r.Disclosure.Protection, CountProtection: r.Disclosure.CountProtection, Secondary: SecondaryMethod, Table: slices.Clone(r.Dimensions), FiguresUnproven: t.Unproven}}
	for _, g := range p.GroupBy {
		a.GroupBy = append(a.GroupBy, t.Dims[g].Name)
	}
	for _, m := range p.Measures {
		a.Columns = append(a.Columns, m.Name)
	}
	return a
}

// Exact answers p from t's protected tables: each figure of an answer
// cell is the sum of the table cells it is made of (the grouped
// categories, and for each other dimension its total, or the categories a
// filter keeps), released only if every one of them is released in that
// figure's table. A mean needs its count and its sum.
func Exact(p *Plan, t *Table, at time.Time) Answer {
	a := p.header(t, at)
	d := len(t.Dims)
	parts := make([][]int, d)
	for i := range d {
		if p.Allowed[i] == nil || len(p.Allowed[i]) == len(t.Dims[i].Breakdown.Categories) {
			parts[i] = []int{t.Counts.Sizes[i]} // the total
		} else {
			parts[i] = p.Allowed[i]
		}
	}
	shape := answerShape(p, t)
	var quantiles [][][]int64
	if slices.ContainsFunc(p.Measures, func(m PlannedMeasure) bool { return m.Op == policy.OpQuantile }) {
		quantiles = cellValues(p, t, shape)
	}
	coord := make([]int, d)
	n := 0
	each(shape, func(pick []int) {
		lists := slices.Clone(parts)
		for gi, g := range p.GroupBy {
			lists[g] = []int{pick[gi]}
		}
		var count float64
		sums := make([]float64, len(t.Measures))
		countStatus := sdc.Released
		sumStatus := make([]sdc.Status, len(t.Measures))
		each(lists, func(c []int) {
			copy(coord, c)
			k := t.Counts.Index(coord)
			count += float64(t.Counts.Cells[k].Count)
			countStatus = worse(countStatus, t.Counts.Cells[k].Status)
			for j, st := range t.Sums {
				sums[j] += st.Cells[k].Sums[0]
				sumStatus[j] = worse(sumStatus[j], st.Cells[k].Status)
			}
		})
		c := Cell{Group: labels(p, t, pick), Values: make([]*float64, len(p.Measures))}
		cellStatus := countStatus
		if countStatus == sdc.Released {
			c.Count = &count
		}
		for mi, m := range p.Measures {
			st := countStatus // a figure is never shown where the count is hidden
			if m.Op != policy.OpCount {
				// Nor a quantile where the field's sum is hidden: the
				// largest values of a dominated sum are what the
				// dominance rule protects.
				st = worse(st, sumStatus[m.Measure])
			}
			cellStatus = worse(cellStatus, st)
			if st == sdc.Released {
				c.Values[mi] = exactValue(m, t, count, sums, quantiles, n)
			}
		}
		if cellStatus != sdc.Released {
			c.Suppressed = cellStatus.String()
			a.Disclosure.Counts.add(cellStatus)
		} else {
			a.Disclosure.Counts.Released++
		}
		a.Cells = append(a.Cells, c)
		n++
	})
	return a
}

// linearValue is a count, sum or mean from a cell's count and sums (exact
// or noisy); nil for the mean of nobody.
func linearValue(m PlannedMeasure, t *Table, count float64, sums []float64) *float64 {
	var v float64
	switch m.Op {
	case policy.OpCount:
		v = count
	case policy.OpSum:
		v = unit(t.Measures[m.Measure].Field, sums[m.Measure])
	case policy.OpMean:
		if count == 0 {
			return nil
		}
		v = round2(unit(t.Measures[m.Measure].Field, sums[m.Measure]) / count)
	default:
		return nil
	}
	return &v
}

func exactValue(m PlannedMeasure, t *Table, count float64, sums []float64, quantiles [][][]int64, cell int) *float64 {
	if m.Op != policy.OpQuantile {
		return linearValue(m, t, count, sums)
	}
	// A quantile is a citizen's own value, not a sum of the table's cells,
	// so the table's protection does not cover it: it is released only
	// with k citizens on each side of it, and rounded to three significant
	// digits, so that no set of quantiles of nested cells gives back one
	// citizen's value.
	vals := quantiles[m.Measure][cell]
	if float64(len(vals))*min(m.Q, 1-m.Q) < float64(t.Rule.Disclosure.K) {
		return nil
	}
	v := significant(unit(t.Measures[m.Measure].Field, quantile(vals, m.Q)), quantileDigits)
	return &v
}

// quantileDigits are the significant digits a released quantile keeps.
const quantileDigits = 3

// significant rounds v to n significant digits.
func significant(v float64, n int) float64 {
	if v == 0 {
		return 0
	}
	scale := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}

// cellValues gathers, per measure and answer cell, the values of the
// citizens in it, sorted.
func cellValues(p *Plan, t *Table, shape [][]int) [][][]int64 {
	cells := 1
	for _, s := range shape {
		cells *= len(s)
	}
	out := make([][][]int64, len(t.Measures))
	for j := range out {
		out[j] = make([][]int64, cells)
	}
	for row := range t.rows() {
		k, ok := answerCell(p, t, shape, row)
		if !ok {
			continue
		}
		for j := range t.Measures {
			out[j][k] = append(out[j][k], t.vals[j][row])
		}
	}
	for j := range out {
		for _, v := range out[j] {
			slices.Sort(v)
		}
	}
	return out
}

// answerCell is the index of the answer cell a row falls in, false if the
// filters leave it out.
func answerCell(p *Plan, t *Table, shape [][]int, row int) (int, bool) {
	for i, keep := range p.Allowed {
		if keep != nil {
			if _, ok := slices.BinarySearch(keep, int(t.cats[i][row])); !ok {
				return 0, false
			}
		}
	}
	k := 0
	for gi, g := range p.GroupBy {
		pos, _ := slices.BinarySearch(shape[gi], int(t.cats[g][row]))
		k = k*len(shape[gi]) + pos
	}
	return k, true
}

// quantile interpolates between order statistics (Hyndman and Fan's type
// 7, the default of R and NumPy) over sorted values.
func quantile(sorted []int64, q float64) float64 {
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return float64(sorted[len(sorted)-1])
	}
	return float64(sorted[lo]) + (h-float64(lo))*float64(sorted[lo+1]-sorted[lo])
}

// unit converts a sum of a field's raw values to the answer's unit: euros
// for money (raw cents).
func unit(f domain.Field, raw float64) float64 {
	if f.Type == domain.Money {
		return raw / 100
	}
	return raw
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func labels(p *Plan, t *Table, pick []int) []string {
	out := make([]string, len(pick))
	for gi, g := range p.GroupBy {
		out[gi] = t.Dims[g].Breakdown.Categories[pick[gi]]
	}
	return out
}

// worse is the status an answer cell takes from its parts: a primary
// suppression says more than a secondary one.
func worse(a, b sdc.Status) sdc.Status {
	rank := func(s sdc.Status) int {
		switch s {
		case sdc.KThreshold:
			return 3
		case sdc.Dominance:
			return 2
		case sdc.Secondary:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func (c *CellsByKind) add(s sdc.Status) {
	switch s {
	case sdc.KThreshold:
		c.KThreshold++
	case sdc.Dominance:
		c.Dominance++
	default:
		c.Secondary++
	}
}
