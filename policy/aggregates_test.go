package policy_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/passerelle-bus/passerelle/policy"
)

func TestAggregateRuleNamesFileAndField(t *testing.T) {
	purposes := "- {id: p, description: d}\n"
	rule := "id: a\nrequester: drees\npurpose: p\nlegal_basis: public-task\nlegal_reference: loi\n" +
		"dimensions: [civilstatus.sex, tax.department]\nmeasures: [tax.reference_income]\nvalid_from: 2026-01-01T00:00:00Z\n"
	for _, tc := range []struct{ name, file, want string }{
		{"unknown breakdown", strings.Replace(rule, "tax.department", "tax.colour", 1), `aggregates/a.yaml: dimensions[1]: "tax.colour" is no breakdown`},
		{"too many dimensions", strings.Replace(rule, "[civilstatus.sex, tax.department]", "[civilstatus.sex, tax.department, tax.role, finance.benefit, civilstatus.age_band]", 1), "dimensions: between 1 and 4"},
		{"text measure", strings.Replace(rule, "tax.reference_income", "tax.household_id", 1), `measures[0]: "tax.household_id" is not a numeric measure`},
		{"consent basis", strings.Replace(rule, "public-task", "consent", 1), `legal_basis: "consent"`},
		{"bad k", rule + "disclosure: {k: 1}\n", "disclosure.k: 1"},
		{"noise without bounds", rule + "noise: {max_epsilon: 1, budget: 5}\n", "noise.bounds: tax.reference_income"},
		{"budget under one query", rule + "noise: {max_epsilon: 1, budget: 0.5, bounds: {tax.reference_income: 10}}\n", "noise.budget"},
		{"unknown op", rule + "ops: [max]\n", `ops[0]: "max"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Load(fstest.MapFS{"purposes.yaml": {Data: []byte(purposes)}, "aggregates/a.yaml": {Data: []byte(tc.file)}}, ".")
			if !errors.Is(err, policy.ErrInvalidRules) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	nested := strings.NewReplacer("id: a", "id: b", "requester: drees", "requester: insee", "[civilstatus.sex, tax.department]", "[civilstatus.sex]", "[tax.reference_income]", "[]").Replace(rule)
	if _, err := policy.Load(fstest.MapFS{"purposes.yaml": {Data: []byte(purposes)}, "aggregates/a.yaml": {Data: []byte(rule)},
		"aggregates/b.yaml": {Data: []byte(nested)}}, "."); !errors.Is(err, policy.ErrInvalidRules) || !strings.Contains(err.Error(), "contain one another") {
		t.Fatalf("a population inside another's, even another requester's: %v", err)
	}
	rs, err := policy.Load(fstest.MapFS{"purposes.yaml": {Data: []byte(purposes)}, "aggregates/a.yaml": {Data: []byte(rule)}}, ".")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rs.Aggregate("drees", "p", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if !ok || r.Disclosure.K != policy.DefaultK || r.Disclosure.DominanceShare != policy.DefaultDominanceShare ||
		strings.Join(r.Domains(), ",") != "civilstatus,tax" {
		t.Fatalf("%+v, %v: defaults or population wrong", r, ok)
	}
	if _, ok := rs.Aggregate("drees", "p", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Fatal("a rule before its valid_from applies")
	}
}
