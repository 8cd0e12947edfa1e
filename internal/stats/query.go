package stats

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/passerelle-bus/passerelle/policy"
)

// Query is a decision-maker's request (POST /v1/aggregates).
type Query struct {
	Purpose  string         `json:"purpose"`
	GroupBy  []string       `json:"group_by"`
	Measures []MeasureQuery `json:"measures"`
	Filters  []Filter       `json:"filters,omitempty"`
	Noise    *NoiseQuery    `json:"noise,omitempty"`
}

// MeasureQuery asks for one figure per cell.
type MeasureQuery struct {
	Op    string  `json:"op"`
	Field string  `json:"field,omitempty"`
	Q     float64 `json:"q,omitempty"`
}

// Filter keeps the citizens whose category of a dimension is one of In.
type Filter struct {
	Field string   `json:"field"`
	In    []string `json:"in"`
}

// NoiseQuery asks for a noisy answer.
type NoiseQuery struct {
	Mechanism string  `json:"mechanism"`
	Epsilon   float64 `json:"epsilon"`
}

// QuantileLevels are the quantiles a query may ask for: deciles 1 and 9,
// quartiles and the median. A free q would let a query ask for every
// order statistic of a cell, that is every citizen's value.
var QuantileLevels = []float64{0.1, 0.25, 0.5, 0.75, 0.9}

// MechanismLaplace is the one noise mechanism: discrete Laplace, sampled
// exactly (internal/stats/noise).
const MechanismLaplace = "discrete-laplace"

// Problem codes of refused queries: stable, documented in the OpenAPI
// description.
const (
	CodeBodyInvalid        = "aggregate-body-invalid"
	CodeRuleMissing        = "aggregate-rule-missing"
	CodeDimensionUnknown   = "dimension-unknown"
	CodeDimensionForbidden = "dimension-not-allowed"
	CodeTooManyDimensions  = "too-many-dimensions"
	CodeMeasureUnknown     = "measure-unknown"
	CodeMeasureNotNumeric  = "measure-not-numeric"
	CodeMeasureForbidden   = "measure-not-allowed"
	CodeOpUnknown          = "op-unknown"
	CodeOpForbidden        = "op-not-allowed"
	CodeQuantileInvalid    = "quantile-invalid"
	CodeFilterValueUnknown = "filter-value-unknown"
	CodeNoiseForbidden     = "noise-not-allowed"
	CodeNoiseInvalid       = "noise-invalid"
	CodeBudgetExhausted    = "budget-exhausted"
)

// Error is a refused query: its code and what to change.
type Error struct {
	Code, Detail string
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Plan is a query checked against its rule.
type Plan struct {
	Rule *policy.AggregateRule
	// GroupBy are indexes of the rule's dimensions.
	GroupBy []int
	// Allowed lists, per dimension of the rule, the categories the
	// filters keep, nil for all.
	Allowed  [][]int
	Measures []PlannedMeasure
	// EpsMicro is the noise's ε in millionths; 0 for an exact answer.
	EpsMicro uint64
}

// PlannedMeasure is a measure of the answer.
type PlannedMeasure struct {
	Op string
	// Measure indexes the rule's measures (-1 for count).
	Measure int
	Q       float64
	// Name is the measure's key in a cell: "count", "sum(tax.tax_due)".
	Name string
}

// Compile checks q against rule r: every name known to the registry and
// allowed by the rule, every filter value in its dimension's categories.
func Compile(r *policy.AggregateRule, q Query) (*Plan, error) {
	p := &Plan{Rule: r, Allowed: make([][]int, len(r.Dimensions))}
	dim := func(name string) (int, error) {
		if _, _, ok := policy.LookupBreakdown(name); !ok {
			return 0, refuse(CodeDimensionUnknown, "%q is no breakdown of the domain registry (GET /v1/rules lists them)", name)
		}
		i := slices.Index(r.Dimensions, name)
		if i < 0 {
			return 0, refuse(CodeDimensionForbidden, "rule %s does not allow %q; it allows %v", r.ID, name, r.Dimensions)
		}
		return i, nil
	}
	if len(q.GroupBy) > policy.MaxDimensions {
		return nil, refuse(CodeTooManyDimensions, "%d dimensions, at most %d", len(q.GroupBy), policy.MaxDimensions)
	}
	for _, name := range q.GroupBy {
		i, err := dim(name)
		if err != nil {
			return nil, err
		}
		if slices.Contains(p.GroupBy, i) {
			return nil, refuse(CodeDimensionUnknown, "%q grouped by twice", name)
		}
		p.GroupBy = append(p.GroupBy, i)
	}
	for _, f := range q.Filters {
		i, err := dim(f.Field)
		if err != nil {
			return nil, err
		}
		_, b, _ := policy.LookupBreakdown(f.Field)
		if len(f.In) == 0 {
			return nil, refuse(CodeFilterValueUnknown, "filter on %s: in: at least one value", f.Field)
		}
		var keep []int
		for _, v := range f.In {
			c, ok := b.Category(v)
			if !ok {
				return nil, refuse(CodeFilterValueUnknown, "filter on %s: %q is not one of %v", f.Field, v, b.Categories)
			}
			keep = append(keep, c)
		}
		if p.Allowed[i] != nil { // two filters on one dimension: both hold
			keep = slices.DeleteFunc(keep, func(c int) bool { return !slices.Contains(p.Allowed[i], c) })
		}
		slices.Sort(keep)
		p.Allowed[i] = slices.Compact(keep)
	}
	if len(q.Measures) == 0 {
		return nil, refuse(CodeOpUnknown, "measures: at least one, e.g. {\"op\": \"count\"}")
	}
	for _, m := range q.Measures {
		pm, err := planMeasure(r, m)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(p.Measures, func(o PlannedMeasure) bool { return o.Name == pm.Name }) {
			continue
		}
		p.Measures = append(p.Measures, pm)
	}
	if n := q.Noise; n != nil {
		switch {
		case r.Noise == nil:
			return nil, refuse(CodeNoiseForbidden, "rule %s allows no noisy answers", r.ID)
		case n.Mechanism != MechanismLaplace:
			return nil, refuse(CodeNoiseInvalid, "mechanism %q, want %s", n.Mechanism, MechanismLaplace)
		case !(n.Epsilon > 0) || n.Epsilon > r.Noise.MaxEpsilon:
			return nil, refuse(CodeNoiseInvalid, "epsilon %v, want within (0, %v]", n.Epsilon, r.Noise.MaxEpsilon)
		}
		for _, m := range p.Measures {
			if m.Op == policy.OpQuantile {
				return nil, refuse(CodeOpForbidden, "a quantile has no bounded sensitivity: not with noise")
			}
		}
		p.EpsMicro = uint64(math.Round(n.Epsilon * 1e6))
		if p.EpsMicro == 0 {
			return nil, refuse(CodeNoiseInvalid, "epsilon %v rounds to 0 millionths", n.Epsilon)
		}
	}
	return p, nil
}

func planMeasure(r *policy.AggregateRule, m MeasureQuery) (PlannedMeasure, error) {
	switch m.Op {
	case policy.OpCount, policy.OpSum, policy.OpMean, policy.OpQuantile:
	default:
		return PlannedMeasure{}, refuse(CodeOpUnknown, "op %q, want count, sum, mean or quantile", m.Op)
	}
	if !r.AllowsOp(m.Op) {
		return PlannedMeasure{}, refuse(CodeOpForbidden, "rule %s does not allow %s", r.ID, m.Op)
	}
	if m.Op == policy.OpCount {
		if m.Field != "" {
			return PlannedMeasure{}, refuse(CodeOpUnknown, "count counts citizens: no field")
		}
		return PlannedMeasure{Op: m.Op, Measure: -1, Name: "count"}, nil
	}
	_, f, ok := policy.LookupMeasure(m.Field)
	switch {
	case !ok:
		return PlannedMeasure{}, refuse(CodeMeasureUnknown, "%q is no field of the domain registry", m.Field)
	case !f.Numeric():
		return PlannedMeasure{}, refuse(CodeMeasureNotNumeric, "%s is %s, not a number", m.Field, f.Type)
	}
	i := slices.Index(r.Measures, m.Field)
	if i < 0 {
		return PlannedMeasure{}, refuse(CodeMeasureForbidden, "rule %s does not allow %s; it allows %v", r.ID, m.Field, r.Measures)
	}
	pm := PlannedMeasure{Op: m.Op, Measure: i, Name: m.Op + "(" + m.Field + ")"}
	if m.Op == policy.OpQuantile {
		if !slices.Contains(QuantileLevels, m.Q) {
			return PlannedMeasure{}, refuse(CodeQuantileInvalid, "q %v, want one of %v", m.Q, QuantileLevels)
		}
		pm.Q = m.Q
		pm.Name = "quantile(" + m.Field + "," + strconv.FormatFloat(m.Q, 'f', -1, 64) + ")"
	} else if m.Q != 0 {
		return PlannedMeasure{}, refuse(CodeQuantileInvalid, "q is for quantiles only")
	}
	return pm, nil
}
