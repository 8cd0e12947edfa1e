package stats_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/civilstatus"
	"github.com/passerelle-bus/passerelle/internal/domains/finance"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

// citizen is what the oracle knows of a synthetic citizen.
type citizen struct {
	sex       string
	born      time.Time
	commune   string
	income    int64
	taxDue    int64
	benefit   string
	amount    int64
	inTax     bool
	inFinance bool
}

var communes = []string{"75056", "13055", "69123", "31555", "48095", "2A004", "97411"}

// population draws n citizens; the last ones of Lozère (48) include one
// whose income dominates his département.
func population(n int, seed uint64) []citizen {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]citizen, n)
	for i := range out {
		c := citizen{
			sex:     []string{"F", "M"}[r.IntN(2)],
			born:    time.Date(1930+r.IntN(95), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC),
			commune: communes[r.IntN(len(communes))],
			income:  int64(r.IntN(6_000_000)),
			taxDue:  int64(r.IntN(900_000)),
			benefit: []string{"HOUSING_AID", "MINIMUM_INCOME", "FAMILY_ALLOWANCE", "OTHER"}[r.IntN(4)],
			amount:  int64(r.IntN(150_000)),
			inTax:   r.IntN(10) != 0,
		}
		c.inFinance = r.IntN(5) != 0
		out[i] = c
	}
	// A rich citizen of Lozère: his income makes the département's sum.
	out[0].commune, out[0].income, out[0].inTax, out[0].inFinance = "48095", 90_000_000_000, true, true
	return out
}

type fixture struct {
	ix    *stats.Index
	rules *policy.RuleSet
	pop   []citizen
}

func newFixture(t testing.TB, pop []citizen) *fixture {
	t.Helper()
	ctx := context.Background()
	kr := pseudo.NewFileKeyring(filepath.Join(t.TempDir(), "pseudo"))
	if err := kr.Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		t.Fatal(err)
	}
	opener, err := link.NewOpener(ctx, kr, domains.Names())
	if err != nil {
		t.Fatal(err)
	}
	sealers := map[string]*link.Sealer{}
	for _, d := range []string{"civilstatus", "tax", "finance"} {
		if sealers[d], err = link.NewSealer(ctx, kr, d); err != nil {
			t.Fatal(err)
		}
	}
	ix := stats.NewIndex(opener, nil, nil, nil)
	for i, c := range pop {
		var id link.ID
		binary.BigEndian.PutUint64(id[8:], uint64(i))
		observe := func(d string, value any, meta *schemas.Meta) {
			meta.Subject, meta.RecordID = fmt.Sprintf("%s-%d", d, i), fmt.Sprintf("rec-%s-%d", d, i)
			h, err := sealers[d].Seal(id, meta.Subject, meta.RecordID)
			if err != nil {
				t.Fatal(err)
			}
			ix.Observe(d, view.Observed{Meta: meta, Value: value, KeyID: "k", Headers: []bus.Header{{Key: link.Header, Value: h}}})
		}
		p := &civilstatus.Person{Sex: c.sex, BirthDate: c.born, Address: &civilstatus.Address{CommuneCode: c.commune}}
		observe("civilstatus", p, &p.Meta)
		if c.inTax {
			h := &tax.Household{CommuneCode: c.commune, ReferenceIncomeCents: c.income, TaxDueCents: c.taxDue, Role: "DECLARANT"}
			observe("tax", h, &h.Meta)
		}
		if c.inFinance {
			f := &finance.Payment{Benefit: c.benefit, AmountCents: c.amount, Status: "PAID"}
			observe("finance", f, &f.Meta)
		}
	}
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ix: ix, rules: rs, pop: pop}
}

func (f *fixture) rule(t testing.TB, purpose string) *policy.AggregateRule {
	r, ok := f.rules.Aggregate("drees", purpose, day)
	if !ok {
		t.Fatalf("no rule for %s", purpose)
	}
	return r
}

var day = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// ageBand is the oracle's own reckoning of an age band.
func ageBand(born time.Time) string {
	age := day.Year() - born.Year()
	if day.Month() < born.Month() || (day.Month() == born.Month() && day.Day() < born.Day()) {
		age--
	}
	for _, b := range []struct {
		lo    int
		label string
	}{{75, "75+"}, {65, "65-74"}, {55, "55-64"}, {45, "45-54"}, {35, "35-44"}, {25, "25-34"}, {18, "18-24"}, {0, "0-17"}} {
		if age >= b.lo {
			return b.label
		}
	}
	return "?"
}

type oracleCell struct {
	count         int
	income, due   int64
	amount        int64
	largestIncome int64
}

// oracle computes every cell of a grouping straight from the population:
// civil status ⋈ tax, and with finance that of the housing rule.
func (f *fixture) oracle(withFinance bool, key func(c citizen) (string, bool)) map[string]*oracleCell {
	out := map[string]*oracleCell{}
	for _, c := range f.pop {
		if !c.inTax || (withFinance && !c.inFinance) {
			continue
		}
		k, ok := key(c)
		if !ok {
			continue
		}
		o := out[k]
		if o == nil {
			o = &oracleCell{}
			out[k] = o
		}
		o.count++
		o.income += c.income
		o.due += c.taxDue
		o.amount += c.amount
		o.largestIncome = max(o.largestIncome, c.income)
	}
	return out
}

func query(t testing.TB, f *fixture, q stats.Query) stats.Answer {
	t.Helper()
	r := f.rule(t, q.Purpose)
	p, err := stats.Compile(r, q)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := f.ix.Freeze(day).Table(r)
	if err != nil {
		t.Fatal(err)
	}
	return stats.Exact(p, tab, day)
}

func TestReleasedCellsEqualTheOracle(t *testing.T) {
	f := newFixture(t, population(3000, 7))
	a := query(t, f, stats.Query{Purpose: "housing-policy-evaluation",
		GroupBy:  []string{"civilstatus.sex", "civilstatus.age_band", "tax.department"},
		Measures: []stats.MeasureQuery{{Op: "count"}, {Op: "sum", Field: "tax.reference_income"}, {Op: "mean", Field: "tax.tax_due"}, {Op: "sum", Field: "tax.tax_due"}}})
	want := f.oracle(true, func(c citizen) (string, bool) {
		dep := c.commune[:2]
		if dep == "97" {
			dep = c.commune[:3]
		}
		return c.sex + "|" + ageBand(c.born) + "|" + dep, true
	})
	released, suppressed := 0, 0
	for _, c := range a.Cells {
		o := want[c.Group[0]+"|"+c.Group[1]+"|"+c.Group[2]]
		if o == nil {
			o = &oracleCell{}
		}
		if c.Suppressed != "" {
			suppressed++
		} else {
			released++
		}
		if o.count > 0 && o.count < 11 && (c.Count != nil || c.Values[1] != nil || c.Values[2] != nil || c.Values[3] != nil) {
			t.Fatalf("%v: a figure released with %d contributors", c.Group, o.count)
		}
		if (c.Count == nil || c.Values[1] == nil) && c.Suppressed == "" {
			t.Fatalf("%v: a figure withheld without saying why", c.Group)
		}
		if c.Count != nil && int(*c.Count) != o.count {
			t.Fatalf("%v: count %v, the oracle says %d", c.Group, *c.Count, o.count)
		}
		if c.Values[1] != nil && *c.Values[1] != float64(o.income)/100 {
			t.Fatalf("%v: income %v, the oracle says %d", c.Group, *c.Values[1], o.income)
		}
		if c.Values[3] != nil && *c.Values[3] != float64(o.due)/100 {
			t.Fatalf("%v: tax due %v, the oracle says %d", c.Group, *c.Values[3], o.due)
		}
		if c.Values[2] != nil {
			if mean := float64(o.due) / 100 / float64(o.count); math.Abs(mean-*c.Values[2]) > 0.005+1e-9 {
				t.Fatalf("%v: mean %v, the oracle says %v", c.Group, *c.Values[2], mean)
			}
		}
	}
	if released < 50 || a.Disclosure.Counts.KThreshold == 0 || a.Disclosure.Counts.Secondary == 0 {
		t.Fatalf("%d released, %d suppressed: the population does not exercise the table", released, suppressed)
	}
	if len(a.Cells) != 3*8*101 {
		t.Fatalf("%d cells", len(a.Cells))
	}
	t.Logf("%d cells released, %d suppressed (%+v)", released, suppressed, a.Disclosure.Counts)
}

func TestDominantContributorIsSuppressed(t *testing.T) {
	f := newFixture(t, population(20000, 8))
	a := query(t, f, stats.Query{Purpose: "housing-policy-evaluation", GroupBy: []string{"tax.department"},
		Measures: []stats.MeasureQuery{{Op: "count"}, {Op: "sum", Field: "tax.reference_income"}}})
	want := f.oracle(true, func(c citizen) (string, bool) { return c.commune[:2], true })
	if o := want["48"]; o.count < 11 || float64(o.largestIncome) < 0.85*float64(o.income) {
		t.Fatalf("the fixture has no dominance case: %+v", o)
	}
	for _, c := range a.Cells {
		if c.Group[0] == "48" {
			if c.Suppressed != "dominance" {
				t.Fatalf("Lozère: %q, want dominance", c.Suppressed)
			}
			return
		}
	}
	t.Fatal("no Lozère cell")
}

func TestQuantilesNeedK(t *testing.T) {
	f := newFixture(t, population(5000, 9))
	a := query(t, f, stats.Query{Purpose: "housing-policy-evaluation", GroupBy: []string{"civilstatus.sex"},
		Measures: []stats.MeasureQuery{{Op: "quantile", Field: "finance.amount", Q: 0.5}}})
	for _, c := range a.Cells {
		if c.Group[0] == "UNKNOWN" {
			continue
		}
		if c.Values[0] == nil || *c.Values[0] <= 0 || *c.Values[0] > 1500 {
			t.Fatalf("%v: median %v (%q)", c.Group, c.Values[0], c.Suppressed)
		}
	}
}
