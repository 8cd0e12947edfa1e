package gateway_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

// The controller erases a citizen: audited, then no sealed field of the
// citizen is served, while another citizen's are; the audit trail still
// verifies. Whoever is not a controller, and an erasure without its
// reasons, are refused.
func TestErasure(t *testing.T) {
	f := newFixtureWith(t, bustest.Embedded(t), 40, true, domains.Names()...)
	f.rules = everyFieldRules(t)
	_, _, srv := f.instance(t, f.cz.Service.Index, f.auditLog, f.trail, f.publisher)
	f.srv = srv
	want := expectedValues(f.pop)
	// Two citizens with a civil-status and a tax record.
	var erased, kept string
	for _, nir := range f.everyone {
		if want[nir]["civilstatus"] != nil && want[nir]["tax"] != nil {
			if erased == "" {
				erased = nir
			} else if kept == "" {
				kept = nir
			}
		}
	}
	if kept == "" {
		t.Fatal("no two citizens with civil status and tax")
	}
	view := func(nir string) map[string]any {
		names := append(sortedKeys(want[nir]["civilstatus"]), sortedKeys(want[nir]["tax"])...)
		path := fmt.Sprintf("/v1/citizens/%s/view?purpose=value-trace&fields=%s", nir, url.QueryEscape(strings.Join(names, ",")))
		code, body := call(t, srv, f.token(t, "tracer"), "GET", path, nil)
		if code != 200 {
			t.Fatalf("view of %s: %d %v", nir, code, body)
		}
		got, _ := body["fields"].(map[string]any)
		return got
	}
	if got := view(erased); got["civilstatus.family_name"] == nil || got["tax.household_id"] == nil {
		t.Fatalf("before the erasure: %v", got)
	}

	for _, tc := range []struct {
		member string
		body   any
		code   int
		want   string
	}{
		{"tracer", map[string]string{"nir": erased, "reason": "r", "legal_basis": "l"}, 403, "role-missing"},
		{"dpo", map[string]string{"nir": erased, "reason": "", "legal_basis": "GDPR art. 17(1)(a)"}, 400, "erasure-malformed"},
		{"dpo", map[string]string{"nir": "123", "reason": "r", "legal_basis": "l"}, 400, "nir-malformed"},
		{"dpo", map[string]any{"nir": erased, "reason": "r", "legal_basis": "l", "also": 1}, 400, "erasure-malformed"},
	} {
		code, body := call(t, srv, f.token(t, tc.member), "POST", "/v1/erasures", tc.body)
		if code != tc.code || body["code"] != tc.want {
			t.Errorf("%s %v: %d %v, want %d %s", tc.member, tc.body, code, body, tc.code, tc.want)
		}
	}

	code, body := call(t, srv, f.token(t, "dpo"), "POST", "/v1/erasures",
		map[string]string{"nir": erased, "reason": "the citizen's request", "legal_basis": "GDPR art. 17(1)(a)"})
	if code != 200 {
		t.Fatalf("erasure: %d %v", code, body)
	}
	doms, _ := body["domains"].([]any)
	if len(doms) < 2 || body["keys_destroyed"] != float64(len(doms)) {
		t.Fatalf("erasure answer %v: want civilstatus and tax at least, a key each", body)
	}
	// Its records no longer open: not a field of them is served, sealed
	// or not.
	for name, v := range view(erased) {
		if d, _, _ := strings.Cut(name, "."); d == "civilstatus" || d == "tax" {
			t.Errorf("after the erasure, %s is served: %v", name, v)
		}
	}
	if k := view(kept); k["civilstatus.family_name"] == nil || k["tax.household_id"] == nil {
		t.Fatalf("another citizen after the erasure: %v", k)
	}
	// Erased again: nothing left to destroy.
	code, body = call(t, srv, f.token(t, "dpo"), "POST", "/v1/erasures",
		map[string]string{"nir": erased, "reason": "again", "legal_basis": "GDPR art. 17(1)(a)"})
	if code != 200 || body["keys_destroyed"] != float64(0) {
		t.Fatalf("a second erasure: %d %v", code, body)
	}
	// The trail holds the erasures, with their reasons, and verifies.
	var evs []audit.Entry
	waitFor(t, "the erasures in the trail", func() bool {
		evs, _, _ = f.trail.Events(audit.Filter{Kinds: []string{audit.KindErasure}, After: -1})
		return len(evs) == 2
	})
	for _, ev := range evs {
		if ev.Query["legal_basis"] != "GDPR art. 17(1)(a)" || ev.Citizen == "" || ev.Requester != "dpo" {
			t.Errorf("erasure event %+v", ev.Event)
		}
	}
	if _, err := audit.Verify(context.Background(), f.client, f.store, audit.TrailOptions{Topic: f.trail.Topic()}); err != nil {
		t.Fatalf("the trail does not verify after erasures: %v", err)
	}
}
