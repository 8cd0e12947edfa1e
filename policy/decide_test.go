package policy_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/passerelle-bus/passerelle/policy"
)

// The example requests beside the rules are the decision table.
func TestDecisionTable(t *testing.T) {
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	results, err := policy.RunTests(policy.Default, ".", rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 40 {
		t.Fatalf("%d example requests, want at least 40", len(results))
	}
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		})
	}
}

func BenchmarkDecide(b *testing.B) {
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		b.Fatal(err)
	}
	fields, _ := policy.ParseFields([]string{"civilstatus.birth_date", "health.long_term_condition"})
	c := &policy.Consent{Requester: "cnaf", Purpose: "disability-allowance-review", Fields: []string{"health.*"}, Status: policy.ConsentActive}
	c.Prepare()
	req := policy.Request{Requester: "cnaf", Purpose: "disability-allowance-review", Fields: fields, Consent: c}
	req.Time = rs.Rules()[0].ValidFrom.AddDate(0, 3, 0)
	c.Start, c.Expiry = req.Time.AddDate(0, -1, 0), req.Time.AddDate(1, 0, 0)
	var d policy.Decision
	b.ReportAllocs()
	for b.Loop() {
		rs.Decide(&req, &d)
	}
	if d.Outcome != policy.Allow {
		b.Fatalf("benchmark request decided %v %s", d.Outcome, d.Code)
	}
}

// A purpose without ceilings (no max_fields, no max_per_citizen) limits
// neither the fields asked nor how often.
func TestPurposeWithoutCeilings(t *testing.T) {
	fsys := fstest.MapFS{
		"purposes.yaml": {Data: []byte("- id: open\n  description: No ceiling.\n")},
		"rules/r.yaml": {Data: []byte(`id: r
requester: m
purpose: open
legal_basis: public-task
legal_reference: test
fields: [tax.tax_year, tax.reference_income]
valid_from: 2020-01-01T00:00:00Z
`)},
	}
	rs, err := policy.Load(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	fields, _ := policy.ParseFields([]string{"tax.tax_year", "tax.reference_income"})
	req := policy.Request{Requester: "m", Purpose: "open", Fields: fields, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), RecentAccesses: 1000}
	var d policy.Decision
	rs.Decide(&req, &d)
	if d.Outcome != policy.Allow {
		t.Fatalf("%s %s, want allow", d.Outcome, d.Code)
	}
}

// The case runner fails a case whose expectation the policy does not
// meet, in each part of it: `passerelle policy test` would otherwise pass a
// register that says something else than its examples.
func TestCaseRunnerCatchesWrongExpectations(t *testing.T) {
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	good := `- name: good
  request: {requester: cnaf, purpose: housing-aid-eligibility, fields: [tax.reference_income, civilstatus.sex], time: '2026-06-01T00:00:00Z'}
  expect: {outcome: partial, code: '', rule: cnaf-housing-aid-eligibility, granted: [tax.reference_income], withheld: {civilstatus.sex: field-not-allowed}}
`
	for _, tc := range []struct{ name, from, to string }{
		{"outcome", "outcome: partial", "outcome: allow"},
		{"code", "code: ''", "code: no-rule"},
		{"rule", "rule: cnaf-housing-aid-eligibility", "rule: another"},
		{"granted", "granted: [tax.reference_income]", "granted: [tax.shares]"},
		{"withheld", "civilstatus.sex: field-not-allowed", "civilstatus.sex: consent-missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, body := range []string{good, strings.Replace(good, tc.from, tc.to, 1)} {
				fsys := fstest.MapFS{"rules/x.test.yaml": {Data: []byte(body)}}
				results, err := policy.RunTests(fsys, ".", rs)
				if err != nil || len(results) != 1 {
					t.Fatalf("%v %v", results, err)
				}
				if wrong := body != good; (results[0].Err != nil) != wrong {
					t.Fatalf("wrong expectation %v: result %v", wrong, results[0].Err)
				}
			}
		})
	}
}
