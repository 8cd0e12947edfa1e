package policy_test

import (
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/policy"
)

// The register says, per rule and field, what a release needs; the
// decision does exactly that. Checked for every field of every shipped
// rule: asked alone without a consent, a field the register says needs
// one is withheld as consent-missing, and any other is granted; with a
// consent covering it, it is granted.
func TestTheRegisterSaysWhatTheDecisionDoes(t *testing.T) {
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	needs := map[string]int{}
	for _, r := range rs.Rules() {
		if len(r.Releases) == 0 {
			t.Fatalf("rule %s publishes no releases", r.ID)
		}
		for _, rel := range r.Releases {
			t.Run(r.ID+"/"+rel.Field, func(t *testing.T) {
				needs[rel.Needs]++
				fields, err := policy.ParseFields([]string{rel.Field})
				if err != nil {
					t.Fatal(err)
				}
				f := fields.Fields()[0]
				if rel.Class != f.Class() {
					t.Fatalf("class %s, the catalogue says %s", rel.Class, f.Class())
				}
				at := r.ValidFrom.Add(time.Hour)
				var d policy.Decision
				rs.Decide(&policy.Request{Requester: r.Requester, Purpose: r.Purpose, Fields: fields, Time: at}, &d)
				switch granted := d.Granted.Has(f); {
				case rel.Needs == policy.NeedsConsent && (granted || d.Withheld(f) != policy.CodeConsentMissing):
					t.Fatalf("needs consent, but without one: granted %v, withheld %q", granted, d.Withheld(f))
				case rel.Needs != policy.NeedsConsent && !granted:
					t.Fatalf("needs %s, yet withheld: %q", rel.Needs, d.Withheld(f))
				}
				if rel.Needs != policy.NeedsConsent {
					return
				}
				c := &policy.Consent{Requester: r.Requester, Purpose: r.Purpose, Fields: []string{rel.Field},
					Start: r.ValidFrom, Expiry: at.Add(time.Hour), Mode: policy.ModeOneTime, MaxUses: 1, Status: policy.ConsentActive}
				if err := c.Prepare(); err != nil {
					t.Fatal(err)
				}
				rs.Decide(&policy.Request{Requester: r.Requester, Purpose: r.Purpose, Fields: fields, Time: at, Consent: c}, &d)
				if !d.Granted.Has(f) {
					t.Fatalf("with a consent covering it: withheld %q", d.Withheld(f))
				}
			})
		}
	}
	if needs[policy.NeedsConsent] == 0 || needs[policy.NeedsLegalException] == 0 || needs[policy.NeedsLegalBasis] == 0 {
		t.Fatalf("the shipped register exercises %v: want every kind of need", needs)
	}
}

// A consent is usable only where a rule releases one of its fields only
// with consent: for health under the disability review, not for a member
// or a purpose no rule names, nor for a field the rule gives on its legal
// basis alone.
func TestConsentUsable(t *testing.T) {
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	set := func(names ...string) policy.FieldSet {
		s, err := policy.ParseFields(names)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		requester, purpose string
		fields             policy.FieldSet
		want               bool
	}{
		{"cnaf", "disability-allowance-review", set("health.long_term_condition"), true},
		{"cnaf", "disability-allowance-review", set("health.*"), true},
		{"cnaf", "disability-allowance-review", set("tax.reference_income"), false},
		{"cnaf", "housing-aid-eligibility", set("health.long_term_condition"), false},
		{"drees", "disability-allowance-review", set("health.long_term_condition"), false},
		{"dgafp", "sick-leave-management", set("health.long_term_condition"), false}, // its exception releases it
	} {
		if got := rs.ConsentUsable(tc.requester, tc.purpose, tc.fields); got != tc.want {
			t.Errorf("%s %s %v: usable %v, want %v", tc.requester, tc.purpose, tc.fields.Names(), got, tc.want)
		}
	}
}

// A consent's state follows time and use: pending before its start,
// exhausted when its uses are made, expired at its expiry, its status
// otherwise.
func TestConsentStateAt(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := policy.Consent{Start: start, Expiry: start.AddDate(1, 0, 0), MaxUses: 1, Mode: policy.ModeOneTime, Status: policy.ConsentActive}
	for _, tc := range []struct {
		at   time.Time
		uses int
		want string
	}{
		{start.Add(-time.Hour), 0, policy.ConsentPending},
		{start.Add(time.Hour), 0, policy.ConsentActive},
		{start.Add(time.Hour), 1, policy.ConsentExhausted},
		{start.AddDate(1, 0, 0), 0, policy.ConsentExpired},
	} {
		if got := c.StateAt(tc.at, tc.uses); got != tc.want {
			t.Errorf("at %s with %d uses: %s, want %s", tc.at, tc.uses, got, tc.want)
		}
	}
	c.Status = policy.ConsentRevoked
	if got := c.StateAt(start.Add(time.Hour), 0); got != policy.ConsentRevoked {
		t.Errorf("revoked: %s", got)
	}
}
