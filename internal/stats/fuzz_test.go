package stats_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/stats"
)

var stableCodes = []string{
	stats.CodeBodyInvalid, stats.CodeRuleMissing, stats.CodeDimensionUnknown, stats.CodeDimensionForbidden,
	stats.CodeTooManyDimensions, stats.CodeMeasureUnknown, stats.CodeMeasureNotNumeric, stats.CodeMeasureForbidden,
	stats.CodeOpUnknown, stats.CodeOpForbidden, stats.CodeQuantileInvalid, stats.CodeFilterValueUnknown,
	stats.CodeNoiseForbidden, stats.CodeNoiseInvalid, stats.CodeBudgetExhausted,
}

// FuzzCompile decodes any JSON body into a query and compiles it under
// each default rule: a refusal is always a *stats.Error with a stable
// code, and an accepted exact query answers from a small table without
// panicking and without releasing a count in [1, k-1].
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`{"purpose":"territorial-statistics","group_by":["civilstatus.sex"],"measures":[{"op":"count"}]}`,
		`{"group_by":["civilstatus.sex","civilstatus.age_band","finance.benefit","tax.income_decile"],"measures":[{"op":"count"},{"op":"mean","field":"tax.reference_income"}]}`,
		`{"group_by":["tax.department"],"measures":[{"op":"quantile","field":"tax.tax_due","q":0.5}],"filters":[{"field":"civilstatus.sex","in":["M","M","F"]}]}`,
		`{"measures":[{"op":"count"}],"filters":[{"field":"civilstatus.sex","in":["M"]},{"field":"civilstatus.sex","in":["F"]}]}`,
		`{"measures":[{"op":"sum","field":"hr.gross_monthly_pay"}],"noise":{"mechanism":"discrete-laplace","epsilon":0.5}}`,
		`{"measures":[{"op":"count","field":"x"},{"op":"quantile","field":"tax.reference_income","q":1}]}`,
		`{"group_by":["civilstatus.sex","civilstatus.sex"],"measures":[{"op":"count"}]}`,
		`{"group_by":["a","b","c","d","e"],"measures":[]}`,
		`{"measures":[{"op":"sum","field":"tax.household_id"}]}`,
		`{"filters":[{"field":"civilstatus.age_band","in":[]}],"measures":[{"op":"count"}]}`,
	} {
		f.Add([]byte(s))
	}
	fx := newFixture(f, population(600, 5))
	snap := fx.ix.Freeze(day)
	rules := fx.rules.Aggregates()
	tables := make([]*stats.Table, len(rules))
	for i, r := range rules {
		tab, err := snap.Table(r)
		if err != nil {
			f.Fatal(err)
		}
		tables[i] = tab
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q stats.Query
		if json.Unmarshal(body, &q) != nil {
			return
		}
		for i, r := range rules {
			p, err := stats.Compile(r, q)
			if err != nil {
				var se *stats.Error
				if !errors.As(err, &se) || se.Detail == "" || !slices.Contains(stableCodes, se.Code) {
					t.Fatalf("rule %s: %T %v: not a refusal with a stable code", r.ID, err, err)
				}
				continue
			}
			if p.EpsMicro != 0 || len(p.Measures) > 64 {
				continue
			}
			cells := 1
			for _, g := range p.GroupBy {
				cells *= len(tables[i].Dims[g].Breakdown.Categories)
			}
			if cells > 5000 {
				continue
			}
			a := stats.Exact(p, tables[i], day)
			k := float64(r.Disclosure.K)
			for _, c := range a.Cells {
				if c.Count != nil && *c.Count >= 1 && *c.Count < k {
					t.Fatalf("rule %s: cell %v released with count %v", r.ID, c.Group, *c.Count)
				}
				for mi, m := range p.Measures {
					if m.Op == "count" && c.Values[mi] != nil && *c.Values[mi] >= 1 && *c.Values[mi] < k {
						t.Fatalf("rule %s: cell %v: count column %v", r.ID, c.Group, *c.Values[mi])
					}
					if c.Values[mi] != nil && c.Count == nil {
						t.Fatalf("rule %s: cell %v: %s released where the count is hidden", r.ID, c.Group, m.Name)
					}
				}
			}
		}
	})
}
