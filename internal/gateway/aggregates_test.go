package gateway_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// statsCitizens is a population large enough for most cells of a
// three-dimension table to pass k, and small enough to publish in seconds.
const statsCitizens = 4000

type aggregateAnswer struct {
	DecisionID string           `json:"decision_id"`
	Rule       string           `json:"rule"`
	LegalBasis string           `json:"legal_basis"`
	SnapshotAt time.Time        `json:"snapshot_at"`
	Cells      []map[string]any `json:"cells"`
	Disclosure struct {
		K     int `json:"k"`
		Cells struct {
			Released   int `json:"released"`
			KThreshold int `json:"k_threshold"`
			Dominance  int `json:"dominance"`
			Secondary  int `json:"secondary"`
		} `json:"cells"`
		Noise *struct {
			Epsilon float64 `json:"epsilon"`
		} `json:"noise"`
	} `json:"disclosure"`
	Budget *struct {
		Spent, Remaining float64
	} `json:"budget"`
}

func (f *fixture) aggregate(t *testing.T, member string, q any) (int, aggregateAnswer, []byte) {
	t.Helper()
	code, b := f.do(t, member, "POST", "/v1/aggregates", q)
	var a aggregateAnswer
	if code == http.StatusOK {
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("not an answer: %v: %s", err, b)
		}
	}
	return code, a, b
}

// oracleCell is what the source data synth wrote says of a cell,
// computed without the bus, the link or the statistics code.
type oracleCell struct {
	count               int
	income, due, amount int64
}

// sourceOracle groups every citizen of a rule's population (civil status
// ⋈ tax, and finance when withFinance) by key.
func sourceOracle(p *synth.Population, withFinance bool, key func(c synth.Citizen, tr synth.TaxRow, pr synth.PaymentRow) string) map[string]*oracleCell {
	taxes := map[string]synth.TaxRow{}
	for _, r := range p.Tax {
		taxes[r.NIR] = r
	}
	pays := map[string]synth.PaymentRow{}
	for _, r := range p.Payments {
		pays[r.NIR] = r
	}
	out := map[string]*oracleCell{}
	for _, c := range p.Citizens {
		tr, inTax := taxes[c.NIR]
		pr, inFinance := pays[c.NIR]
		if !inTax || (withFinance && !inFinance) {
			continue
		}
		k := key(c, tr, pr)
		o := out[k]
		if o == nil {
			o = &oracleCell{}
			out[k] = o
		}
		o.count++
		o.income += tr.ReferenceIncomeCents
		o.due += tr.TaxDueCents
		o.amount += pr.AmountCents
	}
	return out
}

// ageBand is the oracle's own reckoning of the registry's age bands.
func ageBand(c synth.Citizen, day time.Time) string {
	age := c.Age(day)
	for i, lo := range []int{18, 25, 35, 45, 55, 65, 75} {
		if age < lo {
			return []string{"0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-74"}[i]
		}
	}
	return "75+"
}

var housingQuery = map[string]any{
	"purpose":  "housing-policy-evaluation",
	"group_by": []string{"civilstatus.sex", "civilstatus.age_band"},
	"measures": []map[string]any{{"op": "count"}, {"op": "sum", "field": "tax.reference_income"}, {"op": "mean", "field": "finance.amount"}},
}

// The example of the issue: three dimensions, three measures.
var departmentQuery = map[string]any{
	"purpose":  "housing-policy-evaluation",
	"group_by": []string{"civilstatus.sex", "civilstatus.age_band", "tax.department"},
	"measures": []map[string]any{{"op": "count"}, {"op": "sum", "field": "tax.reference_income"}, {"op": "mean", "field": "tax.tax_due"}},
}

// Every figure the gateway releases equals the one computed from the
// source data; none describes fewer than k citizens; CSV says the same;
// the decision is one audit event with the query and no value.
func TestAggregatesMatchTheSourceData(t *testing.T) {
	f := newFixtureOn(t, bustest.Embedded(t), statsCitizens)
	var a aggregateAnswer
	for _, tc := range []struct {
		q          map[string]any
		finance    bool
		key        func(c synth.Citizen, tr synth.TaxRow, pr synth.PaymentRow, day time.Time) string
		groups     []string
		meanOf     string
		kThreshold bool
	}{
		{housingQuery, true, func(c synth.Citizen, _ synth.TaxRow, _ synth.PaymentRow, day time.Time) string {
			return c.Sex + "|" + ageBand(c, day)
		}, []string{"civilstatus.sex", "civilstatus.age_band"}, "mean(finance.amount)", false},
		{departmentQuery, true, func(c synth.Citizen, tr synth.TaxRow, _ synth.PaymentRow, day time.Time) string {
			dep := tr.CommuneCode[:2]
			if dep == "97" {
				dep = tr.CommuneCode[:3]
			}
			return c.Sex + "|" + ageBand(c, day) + "|" + dep
		}, []string{"civilstatus.sex", "civilstatus.age_band", "tax.department"}, "mean(tax.tax_due)", true},
	} {
		code, answer, body := f.aggregate(t, "drees", tc.q)
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		a = answer
		if a.LegalBasis != "public-task" || a.DecisionID == "" || a.Disclosure.K != 11 {
			t.Fatalf("header %+v", a)
		}
		want := sourceOracle(f.pop, tc.finance, func(c synth.Citizen, tr synth.TaxRow, pr synth.PaymentRow) string {
			return tc.key(c, tr, pr, a.SnapshotAt)
		})
		released := 0
		for _, c := range a.Cells {
			g := c["group"].(map[string]any)
			var parts []string
			for _, d := range tc.groups {
				parts = append(parts, fmt.Sprint(g[d]))
			}
			o := want[strings.Join(parts, "|")]
			if o == nil {
				o = &oracleCell{}
			}
			count, sum, mean := c["count"], c["sum(tax.reference_income)"], c[tc.meanOf]
			if o.count > 0 && o.count < 11 && (count != nil || sum != nil || mean != nil) {
				t.Fatalf("%v: a figure of %d citizens released: %v", g, o.count, c)
			}
			if (count == nil || sum == nil || (mean == nil && o.count > 0)) != (c["suppressed"] != nil) {
				t.Fatalf("%v: values %v/%v/%v but suppressed %v", g, count, sum, mean, c["suppressed"])
			}
			if count != nil && int(count.(float64)) != o.count {
				t.Fatalf("%v: count %v, the source data says %d", g, count, o.count)
			}
			if sum != nil && sum.(float64) != float64(o.income)/100 {
				t.Fatalf("%v: income %v, the source data says %d cents", g, sum, o.income)
			}
			if mean != nil {
				num := o.amount
				if tc.meanOf == "mean(tax.tax_due)" {
					num = o.due
				}
				if want := float64(num) / 100 / float64(o.count); math.Abs(mean.(float64)-want) > 0.005+1e-9 {
					t.Fatalf("%v: %s %v, the source data says %v", g, tc.meanOf, mean, want)
				}
			}
			if count != nil && o.count > 0 {
				released++
			}
		}
		if released < 5 || (tc.kThreshold && a.Disclosure.Cells.KThreshold == 0) {
			t.Fatalf("%v: %d populated cells released, %+v: the population does not exercise the table", tc.groups, released, a.Disclosure.Cells)
		}
		t.Logf("%v: %d populated cells released; %+v", tc.groups, released, a.Disclosure.Cells)
	}

	// The same table as CSV.
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/aggregates", strings.NewReader(mustJSON(departmentQuery)))
	req.Header.Set("Authorization", "Bearer "+f.token(t, "drees"))
	req.Header.Set("Accept", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("%v %s", err, resp.Header.Get("Content-Type"))
	}
	if strings.Join(rows[0], ",") != "civilstatus.sex,civilstatus.age_band,tax.department,count,sum(tax.reference_income),mean(tax.tax_due),suppressed" ||
		len(rows) != len(a.Cells)+1 {
		t.Fatalf("CSV header %v, %d rows for %d cells", rows[0], len(rows), len(a.Cells))
	}
	for i, c := range a.Cells {
		if got := rows[i+1][3]; (c["count"] == nil) != (got == "") || (got != "" && got != strconv.Itoa(int(c["count"].(float64)))) {
			t.Fatalf("row %d: CSV count %q, JSON %v", i, got, c["count"])
		}
	}

	// One audit event per decision: the query and the cell counts.
	waitSettled(t, f.trail)
	entries, _, err := f.trail.Events(audit.Filter{Kinds: []string{audit.KindAggregate}, After: -1})
	if err != nil || len(entries) != 3 {
		t.Fatalf("%d aggregate events, %v", len(entries), err)
	}
	ev := entries[1].Event
	if ev.ID != a.DecisionID || ev.Requester != "drees" || ev.Rule != a.Rule || ev.Query["group_by"] != "civilstatus.sex,civilstatus.age_band,tax.department" ||
		ev.Query["released"] != strconv.Itoa(a.Disclosure.Cells.Released) || ev.Citizen != "" {
		t.Fatalf("event %+v", ev)
	}
	raw, _ := json.Marshal(ev)
	for _, c := range a.Cells {
		if s, ok := c["sum(tax.reference_income)"].(float64); ok && s > 1000 && strings.Contains(string(raw), strconv.FormatFloat(s, 'f', -1, 64)) {
			t.Fatalf("the audit event holds a released value %v: %s", s, raw)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Bad queries get problem documents with stable codes, each audited.
func TestAggregateRefusals(t *testing.T) {
	f := newFixture(t)
	q := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{"purpose": "housing-policy-evaluation", "group_by": []string{"civilstatus.sex"},
			"measures": []map[string]any{{"op": "count"}}}
		edit(m)
		return m
	}
	for _, tc := range []struct {
		name, member string
		body         any
		status       int
		code         string
	}{
		{"not a decision-maker", "cnaf", q(func(map[string]any) {}), 403, "role-missing"},
		{"no rule for the purpose", "drees", q(func(m map[string]any) { m["purpose"] = "tax-assessment" }), 403, "aggregate-rule-missing"},
		{"unknown key", "drees", q(func(m map[string]any) { m["colour"] = "blue" }), 400, "aggregate-body-invalid"},
		{"unknown dimension", "drees", q(func(m map[string]any) { m["group_by"] = []string{"tax.colour"} }), 400, "dimension-unknown"},
		{"dimension the rule does not allow", "drees", q(func(m map[string]any) { m["group_by"] = []string{"civilstatus.marital_status"} }), 400, "dimension-not-allowed"},
		{"too many dimensions", "drees", q(func(m map[string]any) {
			m["group_by"] = []string{"civilstatus.sex", "civilstatus.age_band", "tax.department", "finance.benefit", "tax.role"}
		}), 400, "too-many-dimensions"},
		{"unknown field", "drees", q(func(m map[string]any) { m["measures"] = []map[string]any{{"op": "sum", "field": "tax.salary"}} }), 400, "measure-unknown"},
		{"measure on a text field", "drees", q(func(m map[string]any) { m["measures"] = []map[string]any{{"op": "sum", "field": "tax.household_id"}} }), 400, "measure-not-numeric"},
		{"measure the rule does not allow", "drees", q(func(m map[string]any) {
			m["measures"] = []map[string]any{{"op": "sum", "field": "pensions.monthly_gross"}}
		}), 400, "measure-not-allowed"},
		{"unknown op", "drees", q(func(m map[string]any) { m["measures"] = []map[string]any{{"op": "max", "field": "tax.tax_due"}} }), 400, "op-unknown"},
		{"bad quantile", "drees", q(func(m map[string]any) {
			m["measures"] = []map[string]any{{"op": "quantile", "field": "tax.tax_due", "q": 1.5}}
		}), 400, "quantile-invalid"},
		{"filter value not in the domain", "drees", q(func(m map[string]any) {
			m["filters"] = []map[string]any{{"field": "finance.benefit", "in": []string{"APL", "ALS"}}}
		}), 400, "filter-value-unknown"},
		{"noise too strong for the rule", "drees", q(func(m map[string]any) { m["noise"] = map[string]any{"mechanism": "discrete-laplace", "epsilon": 5} }), 400, "noise-invalid"},
		{"floating-point Laplace", "drees", q(func(m map[string]any) { m["noise"] = map[string]any{"mechanism": "laplace", "epsilon": 0.5} }), 400, "noise-invalid"},
		{"quantile with noise", "drees", q(func(m map[string]any) {
			m["measures"] = []map[string]any{{"op": "quantile", "field": "tax.tax_due", "q": 0.5}}
			m["noise"] = map[string]any{"mechanism": "discrete-laplace", "epsilon": 0.5}
		}), 400, "op-not-allowed"},
		{"noise under a rule without", "drees", map[string]any{"purpose": "public-service-statistics", "group_by": []string{"hr.category"},
			"measures": []map[string]any{{"op": "count"}}, "noise": map[string]any{"mechanism": "discrete-laplace", "epsilon": 0.5}}, 400, "noise-not-allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := f.send(t, tc.member, "POST", "/v1/aggregates", tc.body)
			if code != tc.status || out["code"] != tc.code {
				t.Fatalf("%d %v, want %d %s", code, out, tc.status, tc.code)
			}
		})
	}
	code, out := f.send(t, "", "POST", "/v1/aggregates", q(func(map[string]any) {}))
	if code != http.StatusUnauthorized {
		t.Fatalf("no token: %d %v", code, out)
	}
	waitSettled(t, f.trail)
	entries, _, err := f.trail.Events(audit.Filter{Kinds: []string{audit.KindRefusal}, Requester: "drees", After: -1})
	if err != nil || len(entries) < 15 {
		t.Fatalf("%d refusals audited, %v", len(entries), err)
	}
}

// Fifty noisy queries at once, split over two gateway instances, spend a
// budget that holds exactly ten: ten answers, forty refusals; a gateway
// started afterwards (a restart) still refuses.
func TestPrivacyBudgetHoldsAcrossInstances(t *testing.T) {
	f := newFixtureOn(t, bustest.Embedded(t), 500)
	other := f.twin(t)
	noisy := map[string]any{"purpose": "housing-policy-evaluation", "group_by": []string{"civilstatus.sex"},
		"measures": []map[string]any{{"op": "count"}, {"op": "mean", "field": "tax.reference_income"}},
		"noise":    map[string]any{"mechanism": "discrete-laplace", "epsilon": 1}}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		outcomes = map[string]int{}
	)
	for i := range 50 {
		srv := f.srv
		if i%2 == 1 {
			srv = other
		}
		tok := f.token(t, "drees")
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out := call(t, srv, tok, "POST", "/v1/aggregates", noisy)
			mu.Lock()
			defer mu.Unlock()
			outcomes[fmt.Sprintf("%d %v", code, out["code"])]++
		}()
	}
	wg.Wait()
	if outcomes["200 <nil>"] != 10 || outcomes["403 budget-exhausted"] != 40 {
		t.Fatalf("outcomes %v, want 10 answers and 40 refusals", outcomes)
	}
	restarted := f.twin(t)
	if code, out := call(t, restarted, f.token(t, "drees"), "POST", "/v1/aggregates", noisy); code != 403 || out["code"] != "budget-exhausted" {
		t.Fatalf("after a restart: %d %v", code, out)
	}
	// An exact query costs no budget.
	if code, out := call(t, restarted, f.token(t, "drees"), "POST", "/v1/aggregates", map[string]any{"purpose": "housing-policy-evaluation",
		"group_by": []string{"civilstatus.sex"}, "measures": []map[string]any{{"op": "count"}}}); code != 200 {
		t.Fatalf("exact after the budget: %d %v", code, out)
	}
}

// The register publishes the aggregate rules and every breakdown with its
// categories, as it publishes the view's rules and fields.
func TestRulesPublishStatistics(t *testing.T) {
	f := newFixture(t)
	code, doc := f.get(t, "", "/v1/rules")
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, doc)
	}
	rules, _ := doc["aggregates"].([]any)
	found := false
	for _, r := range rules {
		m := r.(map[string]any)
		if m["id"] == "drees-housing-policy-evaluation" {
			found = m["legal_basis"] == "public-task" && len(m["dimensions"].([]any)) == 4 &&
				m["disclosure"].(map[string]any)["k"] == float64(11) && m["noise"].(map[string]any)["budget"] == float64(10)
		}
	}
	if !found {
		t.Fatalf("aggregate rules %v", rules)
	}
	breakdowns, _ := doc["breakdowns"].([]any)
	for _, b := range breakdowns {
		m := b.(map[string]any)
		if m["name"] == "tax.department" {
			if cats := m["categories"].([]any); len(cats) != 101 || m["kind"] != "category" {
				t.Fatalf("tax.department: %v", m)
			}
			return
		}
	}
	t.Fatalf("no tax.department among %d breakdowns", len(breakdowns))
}

// A revoked publisher's records leave statistics at once, as they leave
// views: the snapshot built under the old registry is not served again.
func TestRevokedPublisherLeavesStatistics(t *testing.T) {
	f := newFixtureOn(t, bustest.Embedded(t), statsCitizens)
	counts := func() map[string]any {
		code, a, body := f.aggregate(t, "drees", housingQuery)
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		out := map[string]any{}
		for _, c := range a.Cells {
			out[fmt.Sprint(c["group"])] = c["count"]
		}
		return out
	}
	before, populated := counts(), ""
	for g, n := range before {
		if n != nil && n.(float64) >= 11 {
			populated = g
		}
	}
	if populated == "" {
		t.Fatalf("before: no populated cell released: %v", before)
	}
	specs := append([]trust.MemberSpec(nil), viewMembers...)
	for i := range specs {
		if specs[i].ID == "dgfip" {
			specs[i].Status = trust.StatusRevoked
		}
	}
	f.world.Publish(t, specs)
	if _, err := f.store.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := counts()[populated]; n != float64(0) {
		t.Fatalf("after revoking the tax office, %s still counts %v citizens joined on its records (before: %v)", populated, n, before[populated])
	}
}
