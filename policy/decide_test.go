package policy_test

import (
	"testing"

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
