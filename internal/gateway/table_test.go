package gateway_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/policy"
)

// The policy's 44 example requests, asked over HTTP of a gateway whose view
// was built from the connectors' records: each with its member's token,
// its consent state and its access history (written to the audit log as
// another gateway's accesses would be), on a citizen of its own. What the
// answer releases and withholds is checked against what the case's file
// says by hand, not against the decision function the gateway runs:
// released ⊆ granted, released ∩ withheld = ∅, each withheld field for
// the reason written. On the embedded broker and the real one.
func TestDecisionTableOverHTTP(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) { decisionTable(t, newFixtureOn(t, tg, 120)) })
}

func decisionTable(t *testing.T, f *fixture) {
	cases, err := policy.LoadTests(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 || len(f.adults) < len(cases) {
		t.Fatalf("%d cases, %d citizens", len(cases), len(f.adults))
	}
	defer func() { f.guard.Now = time.Now }()
	for i, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			nir := f.adults[i]
			req, err := tc.BuildRequest()
			if err != nil {
				t.Fatal(err)
			}
			when := tc.Request.Time
			f.guard.Now = func() time.Time { return when }
			cit, _ := f.pseudo.Audit(context.Background(), []string{nir})
			var history []audit.Event
			if c := req.Consent; c != nil {
				c.ID, c.Citizen, c.Version = fmt.Sprintf("table-%d", i), cit[0], 1
				if why := f.consents.Apply(c); why != "" {
					t.Fatal(why)
				}
				for j := range tc.Consent.Uses {
					history = append(history, audit.Event{ID: fmt.Sprintf("table-%d-c%d", i, j), Time: when.Add(-time.Minute),
						Kind: audit.KindView, Requester: req.Requester, Purpose: "another-purpose", Citizen: cit[0], Decision: "allow",
						Consent: &audit.ConsentClaim{ID: c.ID, MaxUses: 1 << 20}})
				}
			}
			for j := range tc.RecentAccesses {
				history = append(history, audit.Event{ID: fmt.Sprintf("table-%d-a%d", i, j), Time: when.Add(-time.Minute),
					Kind: audit.KindView, Requester: req.Requester, Purpose: req.Purpose, Citizen: cit[0], Decision: "allow"})
			}
			f.logged(t, history...)
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
				if code != 403 || body["code"] != wantCode || body["fields"] != nil {
					t.Fatalf("%d %v, want 403 %s and nothing released", code, body, wantCode)
				}
			default:
				if code != 200 || body["decision"] != want {
					t.Fatalf("%d %v, want 200 %s", code, body, want)
				}
				checkRelease(t, body, expectedGrant(tc), tc.Expect.Withheld)
			}
		})
	}
}

// expectedGrant is what the case's file says is granted: its list, or
// every field requested but those it withholds.
func expectedGrant(tc policy.TestCase) []string {
	if tc.Expect.Granted != nil {
		return tc.Expect.Granted
	}
	var out []string
	for _, name := range tc.Request.Fields {
		if _, held := tc.Expect.Withheld[name]; !held {
			out = append(out, name)
		}
	}
	return out
}

// checkRelease holds an answer to its case: every field released was
// granted, none is both released and withheld, every granted field is
// released or lacks its record, and each field the case withholds is
// withheld for the case's reason.
func checkRelease(t *testing.T, body map[string]any, granted []string, withheld map[string]string) {
	t.Helper()
	fields, _ := body["fields"].(map[string]any)
	held, _ := body["withheld"].(map[string]any)
	for name := range fields {
		if !slices.Contains(granted, name) {
			t.Errorf("released %s, which the case does not grant (granted %v)", name, granted)
		}
		if _, ok := held[name]; ok {
			t.Errorf("%s both released and withheld", name)
		}
	}
	for _, name := range granted {
		if _, ok := fields[name]; !ok && held[name] != citizenview.WithheldNoRecord {
			t.Errorf("granted field %s neither released nor missing its record: %v", name, held[name])
		}
	}
	for name, reason := range withheld {
		if held[name] != reason {
			t.Errorf("%s withheld as %v, want %s", name, held[name], reason)
		}
		if _, ok := fields[name]; ok {
			t.Errorf("%s released, the case withholds it (%s)", name, reason)
		}
	}
}
