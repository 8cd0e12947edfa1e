package stats_test

import (
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/stats"
)

// TestTwoRulesDoNotDifference: each rule's answers are cut from its own
// protected table, but one requester (drees) holds several rules whose
// populations overlap. The territorial table counts civil status ⋈ tax,
// the housing table civil status ⋈ tax ⋈ finance: the same margin (sex ×
// age band) released by both differs by the citizens with a tax record
// and no benefit payment, a group no table protects. The target is the
// only man aged 75+ in it.
func TestTwoRulesDoNotDifference(t *testing.T) {
	pop := population(3000, 13)
	for i := range pop {
		if pop[i].sex == "M" && ageBand(pop[i].born) == "75+" {
			pop[i].inFinance = true
		}
	}
	const target = 2
	pop[target] = citizen{sex: "M", born: time.Date(1939, 5, 17, 0, 0, 0, 0, time.UTC), commune: "31555",
		income: 3_876_543, taxDue: 4_321, inTax: true, inFinance: false}
	f := newFixture(t, pop)
	ask := func(purpose string) (count, income *float64) {
		a := query(t, f, stats.Query{Purpose: purpose, GroupBy: []string{"civilstatus.sex", "civilstatus.age_band"},
			Measures: []stats.MeasureQuery{{Op: "count"}, {Op: "sum", Field: "tax.reference_income"}}})
		for _, c := range a.Cells {
			if c.Group[0] == "M" && c.Group[1] == "75+" {
				return c.Count, c.Values[1]
			}
		}
		t.Fatal("no cell M 75+")
		return nil, nil
	}
	tc, ti := ask("territorial-statistics")
	hc, hi := ask("housing-policy-evaluation")
	if tc == nil || hc == nil || ti == nil || hi == nil {
		t.Fatalf("a margin is withheld (territorial %v %v, housing %v %v): the population does not exercise the attack", tc, ti, hc, hi)
	}
	count, income := *tc-*hc, *ti-*hi
	t.Logf("men aged 75+: territorial %v citizens %v EUR, housing %v citizens %v EUR; difference %v citizen(s), %v EUR (target's income %v EUR)",
		*tc, *ti, *hc, *hi, count, income, float64(pop[target].income)/100)
	if count >= 1 && count < 11 {
		t.Errorf("two rules' released margins difference to a group of %v citizen(s) with income %v EUR: the target's income is read", count, income)
	}
}
