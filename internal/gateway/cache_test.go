package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/gateway"
)

// Every answer of an authenticated route, whatever its status, tells
// caches not to keep it: it carries a citizen's data, or says that a
// citizen or a consent is known. Each route the document marks as
// needing a token is called for a success and for refusals: no token, a
// bad token, a replayed token, a missing role, a malformed request, an
// unknown object, an audit log down.
func TestProtectedAnswersAreNotStored(t *testing.T) {
	tg := bustest.Embedded(t)
	f := newFixtureOn(t, tg, 120)
	waitConsents(t, f)
	consentBody := func(mode string) []byte {
		b, _ := json.Marshal(map[string]any{"nir": f.nir, "requester": "cnaf", "purpose": "disability-allowance-review",
			"fields": []string{"health.*"}, "start": time.Now().Add(-time.Minute), "expiry": time.Now().Add(time.Hour), "mode": mode})
		return b
	}
	code, body := f.send(t, "portail", "POST", "/v1/consents", json.RawMessage(consentBody("")))
	if code != 201 {
		t.Fatalf("a consent to revoke: %d %v", code, body)
	}
	revocable := body["id"].(string)

	const (
		view      = "/v1/citizens/{nir}/view"
		consents  = "/v1/consents"
		consent   = "/v1/consents/{id}"
		listed    = "/v1/citizens/{nir}/consents"
		accessLog = "/v1/citizens/{nir}/access-log"
		events    = "/v1/audit/events"
		cp        = "/v1/audit/checkpoint"
		proof     = "/v1/audit/proof"
		stats     = "/v1/aggregates"
		erasures  = "/v1/erasures"
	)
	erasureBody := []byte(`{"nir":"` + f.nir + `","reason":"the citizen's request","legal_basis":"GDPR art. 17(1)(a)"}`)
	statsBody := []byte(`{"purpose":"housing-policy-evaluation","group_by":["civilstatus.sex"],"measures":[{"op":"count"}]}`)
	citizen := "/v1/citizens/" + f.nir
	answered := map[string]bool{} // "METHOD op success|refusal"
	for _, tc := range []struct {
		name, op string // op: the document's path
		token    string // a member's fresh token, "" for none, or "bad"
		method   string
		path     string
		body     []byte
		status   int
	}{
		{"view", view, "cnaf", "GET", citizen + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income", nil, 200},
		{"view refused by the policy", view, "dgfip", "GET", citizen + "/view?purpose=tax-assessment&fields=health.scheme", nil, 403},
		{"view without the role", view, "portail", "GET", citizen + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income", nil, 403},
		{"view of a bad NIR", view, "cnaf", "GET", "/v1/citizens/123/view?purpose=housing-aid-eligibility&fields=tax.reference_income", nil, 400},
		{"view without a token", view, "", "GET", citizen + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income", nil, 401},
		{"view with a bad token", view, "bad", "GET", citizen + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income", nil, 401},
		{"consent", consents, "portail", "POST", consents, consentBody(""), 201},
		{"malformed consent", consents, "portail", "POST", consents, []byte(`{"nir":`), 400},
		{"consent without the role", consents, "cnaf", "POST", consents, consentBody(""), 403},
		{"consent without a token", consents, "", "POST", consents, consentBody(""), 401},
		{"revocation", consent, "portail", "DELETE", "/v1/consents/" + revocable, nil, 204},
		{"revocation of no consent", consent, "portail", "DELETE", "/v1/consents/cst-none", nil, 404},
		{"revocation without a token", consent, "", "DELETE", "/v1/consents/" + revocable, nil, 401},
		{"consents", listed, "portail", "GET", citizen + "/consents", nil, 200},
		{"consents of a bad NIR", listed, "portail", "GET", "/v1/citizens/123/consents", nil, 400},
		{"consents without the role", listed, "cnaf", "GET", citizen + "/consents", nil, 403},
		{"consents without a token", listed, "", "GET", citizen + "/consents", nil, 401},
		{"access log", accessLog, "portail", "GET", citizen + "/access-log", nil, 200},
		{"access log of a bad NIR", accessLog, "portail", "GET", "/v1/citizens/123/access-log", nil, 400},
		{"access log without the role", accessLog, "cnaf", "GET", citizen + "/access-log", nil, 403},
		{"access log without a token", accessLog, "", "GET", citizen + "/access-log", nil, 401},
		{"events", events, "cnil", "GET", events + "?nir=" + f.nir, nil, 200},
		{"malformed events query", events, "cnil", "GET", events + "?limit=many", nil, 400},
		{"events without the role", events, "cnaf", "GET", events, nil, 403},
		{"events without a token", events, "", "GET", events, nil, 401},
		{"checkpoint", cp, "cnil", "GET", cp, nil, 200},
		{"checkpoint without a token", cp, "", "GET", cp, nil, 401},
		{"checkpoint with a bad token", cp, "bad", "GET", cp, nil, 401},
		{"proof", proof, "cnil", "GET", proof + "?index=0", nil, 200},
		{"proof of nothing", proof, "cnil", "GET", proof + "?index=999999", nil, 404},
		{"malformed proof query", proof, "cnil", "GET", proof + "?index=0&size=x", nil, 400},
		{"proof without a token", proof, "", "GET", proof + "?index=0", nil, 401},
		{"aggregates", stats, "drees", "POST", stats, statsBody, 200},
		{"aggregates without the role", stats, "cnaf", "POST", stats, statsBody, 403},
		{"malformed aggregates query", stats, "drees", "POST", stats, []byte(`{"purpose":`), 400},
		{"aggregates without a token", stats, "", "POST", stats, statsBody, 401},
		{"erasure", erasures, "dpo", "POST", erasures, erasureBody, 200},
		{"erasure without the role", erasures, "cnaf", "POST", erasures, erasureBody, 403},
		{"malformed erasure", erasures, "dpo", "POST", erasures, []byte(`{"nir":`), 400},
		{"erasure without a token", erasures, "", "POST", erasures, erasureBody, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{"Content-Type": {"application/json"}}
			switch tc.token {
			case "":
			case "bad":
				header.Set("Authorization", "Bearer not.a.token")
			default:
				header.Set("Authorization", "Bearer "+f.token(t, tc.token))
			}
			resp, body := rawCall(t, f.srv, tc.method, tc.path, tc.body, header)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", got)
			}
			if tc.status < 300 {
				answered[tc.method+" "+tc.op+" success"] = true
			} else {
				answered[tc.method+" "+tc.op+" refusal"] = true
			}
		})
	}

	// A token used twice: the second use is refused, and audited.
	t.Run("replayed token", func(t *testing.T) {
		header := http.Header{"Authorization": {"Bearer " + f.token(t, "cnil")}}
		if resp, body := rawCall(t, f.srv, "GET", cp, nil, header); resp.StatusCode != 200 {
			t.Fatalf("first use: %d %s", resp.StatusCode, body)
		}
		resp, body := rawCall(t, f.srv, "GET", cp, nil, header)
		if resp.StatusCode != 401 || !strings.Contains(string(body), "replay") {
			t.Fatalf("second use: %d %s, want 401 for a replay", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Fatalf("Cache-Control %q, want no-store", got)
		}
	})

	// Nothing can be recorded, so nothing is released: the 503 too.
	t.Run("audit log down", func(t *testing.T) {
		tg.Embedded.Close()
		header := http.Header{"Authorization": {"Bearer " + f.token(t, "cnaf")}}
		resp, body := rawCall(t, f.srv, "GET", citizen+"/view?purpose=housing-aid-eligibility&fields=tax.reference_income", nil, header)
		if resp.StatusCode != 503 {
			t.Fatalf("%d %s, want 503", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Fatalf("Cache-Control %q, want no-store", got)
		}
	})

	// Every route the document says needs a token was called, for a
	// success and for a refusal.
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(gateway.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if len(op.Security) == 0 {
				continue
			}
			for _, outcome := range []string{"success", "refusal"} {
				if key := strings.ToUpper(method) + " " + path + " " + outcome; !answered[key] {
					t.Errorf("%s: needs a token, and this test never had its %s", strings.ToUpper(method)+" "+path, outcome)
				}
			}
		}
	}
}
