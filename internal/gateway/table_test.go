package gateway_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/policy"
)

// The policy's 44 example requests, asked over HTTP of a gateway whose view
// was built from the real Kafka broker: each with its member's token, its
// consent state and its access history, on a citizen of its own. The HTTP
// answer must be the decision the policy table expects; a field the policy
// grants may still be withheld only for want of a record.
func TestDecisionTableOverHTTP(t *testing.T) {
	f := newFixtureOn(t, bustest.Real(t), 120)
	rules, _ := policy.Load(policy.Default, ".")
	cases, err := policy.LoadTests(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 || len(f.adults) < len(cases) {
		t.Fatalf("%d cases, %d citizens", len(cases), len(f.adults))
	}
	for i, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			nir := f.adults[i]
			req, err := tc.BuildRequest()
			if err != nil {
				t.Fatal(err)
			}
			when := tc.Request.Time
			f.cz.Now = func() time.Time { return when }
			cit, _ := f.pseudo.Audit(context.Background(), []string{nir})
			if c := req.Consent; c != nil {
				c.ID, c.Citizen = fmt.Sprintf("table-%d", i), cit[0]
				f.consents.Put(c)
				for range tc.Consent.Uses {
					f.consents.Use(c.ID)
				}
			}
			for j := range tc.RecentAccesses { // accesses no trail has seen: another instance's, say
				f.cz.Usage.Add(req.Requester, req.Purpose, cit[0], when.Add(-time.Minute), fmt.Sprintf("table-%d-%d", i, j))
			}
			path := fmt.Sprintf("/v1/citizens/%s/view?purpose=%s&fields=%s", nir, url.QueryEscape(tc.Request.Purpose),
				url.QueryEscape(strings.Join(tc.Request.Fields, ",")))
			code, body := f.get(t, tc.Request.Requester, path)
			switch want := tc.Expect.Outcome; {
			case want == "deny" && tc.Expect.Code == policy.CodeUnknownPurpose:
				if code != 400 || body["code"] != tc.Expect.Code {
					t.Fatalf("%d %v, want 400 %s", code, body, tc.Expect.Code)
				}
			case want == "deny" && tc.Expect.Code == policy.CodeNothingRequested:
				if code != 400 || body["code"] != "field-unknown" {
					t.Fatalf("%d %v, want 400 field-unknown", code, body)
				}
			case want == "deny":
				// A member without the reader role is refused before the
				// policy is asked: role-missing, not no-rule.
				wantCode := tc.Expect.Code
				if m, _ := f.world.Store(t).Current().Member(tc.Request.Requester); !m.Has("reader") {
					wantCode = "role-missing"
				}
				if code != 403 || body["code"] != wantCode {
					t.Fatalf("%d %v, want 403 %s", code, body, wantCode)
				}
			default:
				if code != 200 || body["decision"] != want {
					t.Fatalf("%d %v, want 200 %s", code, body, want)
				}
				var d policy.Decision
				rules.Decide(&req, &d)
				withheld, _ := body["withheld"].(map[string]any)
				for _, name := range d.Granted.Names() {
					if _, ok := body["fields"].(map[string]any)[name]; !ok && withheld[name] != "no-record" {
						t.Errorf("granted field %s neither released nor missing its record: %v", name, withheld[name])
					}
				}
				for _, f := range d.WithheldSet().Fields() {
					if withheld[f.String()] != d.Withheld(f) {
						t.Errorf("%s withheld as %v, want %s", f, withheld[f.String()], d.Withheld(f))
					}
				}
			}
		})
	}
}
