package policy_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/passerelle-bus/passerelle/policy"
)

func TestDefaultPolicyLoads(t *testing.T) {
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules()) != 5 || len(rs.Purposes()) != 7 || len(rs.Aggregates()) != 2 || len(rs.Version) != 12 {
		t.Fatalf("%d rules, %d purposes, %d aggregate rules, version %q", len(rs.Rules()), len(rs.Purposes()), len(rs.Aggregates()), rs.Version)
	}
}

func TestLoadNamesFileAndField(t *testing.T) {
	purposes := "- {id: p, description: d}\n"
	rule := func(extra string) string {
		return "id: r\nrequester: m\npurpose: p\nlegal_basis: public-task\nlegal_reference: loi\nfields: [tax.tax_year]\nvalid_from: 2026-01-01T00:00:00Z\n" + extra
	}
	for _, tc := range []struct{ name, file, want string }{
		{"unknown field", strings.Replace(rule(""), "tax.tax_year", "tax.salary", 1), `rules/r.yaml: fields[0]: unknown field: "tax.salary"`},
		{"unknown purpose", strings.Replace(rule(""), "purpose: p", "purpose: q", 1), `rules/r.yaml: purpose: unknown purpose "q"`},
		{"no legal text", strings.Replace(rule(""), "legal_reference: loi\n", "", 1), "rules/r.yaml: legal_reference: required"},
		{"bad basis", strings.Replace(rule(""), "public-task", "because", 1), `rules/r.yaml: legal_basis: "because"`},
		{"consent basis without consent", strings.Replace(rule(""), "public-task", "consent", 1), "consent_required: must be true"},
		{"unknown key", rule("color: blue\n"), "rules/r.yaml: yaml: unmarshal errors"},
		{"ends before it starts", rule("valid_until: 2025-01-01T00:00:00Z\n"), "valid_until: must be after valid_from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Load(fstest.MapFS{"purposes.yaml": {Data: []byte(purposes)}, "rules/r.yaml": {Data: []byte(tc.file)}}, ".")
			if !errors.Is(err, policy.ErrInvalidRules) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	_, err := policy.Load(fstest.MapFS{"purposes.yaml": {Data: []byte(purposes)},
		"rules/a.yaml": {Data: []byte(rule(""))}, "rules/b.yaml": {Data: []byte(strings.Replace(rule(""), "id: r", "id: s", 1))}}, ".")
	if err == nil || !strings.Contains(err.Error(), "overlaps rule r") {
		t.Fatalf("two rules for one pair at the same time: %v", err)
	}
}

func TestRegisterIsPublishedInSeconds(t *testing.T) {
	rs, _ := policy.Load(policy.Default, ".")
	b, err := json.Marshal(rs.Purposes()[0])
	if err != nil || !strings.Contains(string(b), `"max_age_seconds":94608000`) || !strings.Contains(string(b), `"window_seconds":2592000`) {
		t.Fatalf("%s %v", b, err)
	}
}
