package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/policy"
)

// A refusal says what to do about it: the parameter at fault, the ceiling
// reached with the accesses it counts and when the next can be answered,
// the consent's state and uses left. Every one is a problem document of
// the shape /openapi.json gives.
func TestRefusalsSayWhatToDo(t *testing.T) {
	f := newFixture(t)
	schema := compile(t, "Problem")
	check := func(t *testing.T, member, path string, status int, code string) map[string]any {
		t.Helper()
		got, body := f.get(t, member, path)
		if got != status || body["code"] != code {
			t.Fatalf("%d %v, want %d %s", got, body, status, code)
		}
		if err := schema.Validate(body); err != nil {
			t.Fatalf("not a problem document as documented: %v\n%v", err, body)
		}
		return body
	}
	view := "/v1/citizens/" + f.nir + "/view"

	t.Run("a missing parameter is named", func(t *testing.T) {
		for _, tc := range []struct{ query, code, param string }{
			{"?purpose=housing-aid-eligibility", "field-unknown", "fields"},
			{"?purpose=housing-aid-eligibility&fields=", "field-unknown", "fields"},
			{"?fields=tax.reference_income", policy.CodeUnknownPurpose, "purpose"},
			{"?purpose=housing-aid-eligibility&fields=tax.salary", "field-unknown", "fields"},
		} {
			body := check(t, "cnaf", view+tc.query, 400, tc.code)
			if body["parameter"] != tc.param || body["detail"] == "" {
				t.Errorf("%s: parameter %v, detail %q; want %s named", tc.query, body["parameter"], body["detail"], tc.param)
			}
		}
	})

	t.Run("a ceiling says when the next access can be answered", func(t *testing.T) {
		p, _ := f.rules.Purpose("housing-aid-eligibility")
		var first time.Time
		for i := range p.MaxPerCitizen {
			code, body := f.get(t, "cnaf", view+"?purpose=housing-aid-eligibility&fields=tax.reference_income")
			if code != 200 {
				t.Fatalf("access %d: %d %v", i+1, code, body)
			}
			if i == 0 {
				first = time.Now()
			}
		}
		waitSettled(t, f.trail)
		body := check(t, "cnaf", view+"?purpose=housing-aid-eligibility&fields=tax.reference_income", 403, policy.CodeCeilingFrequency)
		c, _ := body["ceiling"].(map[string]any)
		if c == nil || c["purpose"] != p.ID || c["max"] != float64(p.MaxPerCitizen) || c["window_seconds"] != p.Window.Seconds() || c["used"] != float64(p.MaxPerCitizen) {
			t.Fatalf("ceiling %v, want %s: %d per %s, all used", c, p.ID, p.MaxPerCitizen, p.Window)
		}
		at, err := time.Parse(time.RFC3339Nano, c["retry_at"].(string))
		if want := first.Add(p.Window); err != nil || at.Sub(want).Abs() > 5*time.Second {
			t.Fatalf("retry_at %v (%v), want the first access's time plus the window, about %v", c["retry_at"], err, want)
		}
	})

	t.Run("a used-up consent says so, with its uses", func(t *testing.T) {
		cit, _ := f.pseudo.Audit(context.Background(), []string{f.nir})
		c := &policy.Consent{ID: "c-once", Citizen: cit[0], Requester: "cnaf", Purpose: "disability-allowance-review",
			Fields: []string{"health.*"}, Start: time.Now().Add(-time.Hour), Expiry: time.Now().Add(time.Hour),
			Mode: policy.ModeOneTime, MaxUses: 1, Status: policy.ConsentActive, Version: 1}
		c.Prepare()
		f.consents.Apply(c)
		path := view + "?purpose=disability-allowance-review&fields=health.long_term_condition"
		if code, body := f.get(t, "cnaf", path); code != 200 {
			t.Fatalf("the consent's one use: %d %v", code, body)
		}
		waitSettled(t, f.trail)
		body := check(t, "cnaf", path, 403, policy.CodeConsentOverused)
		cs, _ := body["consent"].(map[string]any)
		if cs == nil || cs["id"] != "c-once" || cs["uses"] != 1.0 || cs["uses_left"] != 0.0 || cs["max_uses"] != 1.0 || cs["mode"] != policy.ModeOneTime {
			t.Fatalf("consent %v, want c-once used once of once", cs)
		}
	})
}
