package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/consent"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/policy"
)

// The portal records a consent, the benefits payer reads health data under
// it, the portal revokes it and the very next request is refused; a gateway
// started afresh rebuilds the same state from passerelle.consent.v1. On the
// embedded broker and on the real one.
func TestConsentLifecycle(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) { consentLifecycle(t, newFixtureOn(t, tg, 120)) })
}

func consentLifecycle(t *testing.T, f *fixture) {
	for f.journal.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	disability := "/v1/citizens/" + f.nir + "/view?purpose=disability-allowance-review&fields=health.long_term_condition"
	give := map[string]any{"nir": f.nir, "requester": "cnaf", "purpose": "disability-allowance-review",
		"fields": []string{"health.*"}, "start": time.Now().Add(-time.Minute), "expiry": time.Now().Add(time.Hour),
		"mode": "periodic", "max_uses": 10, "period_seconds": 86400}

	if code, body := f.send(t, "cnaf", "POST", "/v1/consents", give); code != 403 || body["code"] != "role-missing" {
		t.Fatalf("a reader recording a consent: %d %v", code, body)
	}
	code, body := f.send(t, "portail", "POST", "/v1/consents", give)
	if code != 201 || body["status"] != policy.ConsentActive || body["citizen"] == f.nir {
		t.Fatalf("consent: %d %v", code, body)
	}
	id := body["id"].(string)
	if code, body := f.get(t, "cnaf", disability); code != 200 || body["decision"] != "allow" {
		t.Fatalf("under consent: %d %v", code, body)
	}
	if code, _ := f.send(t, "portail", "DELETE", "/v1/consents/"+id, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code, body := f.get(t, "cnaf", disability); code != 403 || body["code"] != policy.CodeConsentRevoked {
		t.Fatalf("right after the revocation: %d %v", code, body)
	}
	code, body = f.send(t, "portail", "GET", "/v1/citizens/"+f.nir+"/consents", nil)
	list := body["consents"].([]any)
	if code != 200 || len(list) != 1 || list[0].(map[string]any)["status"] != policy.ConsentRevoked {
		t.Fatalf("consents of the citizen: %d %v", code, body)
	}
	for _, bad := range []map[string]any{
		{"nir": "184077505612373", "requester": "cnaf", "purpose": "disability-allowance-review", "fields": []string{"health.*"}},
		{"nir": f.nir, "requester": "cnaf", "purpose": "curiosity", "fields": []string{"health.*"}},
		{"nir": f.nir, "requester": "cnaf", "purpose": "disability-allowance-review", "fields": []string{"health.dna"}},
	} {
		if code, body := f.send(t, "portail", "POST", "/v1/consents", bad); code != 400 {
			t.Errorf("bad consent %v: %d %v", bad, code, body)
		}
	}

	// A new gateway reads the consent topic and knows the consent revoked.
	fresh := consent.NewJournal(consent.NewMemory(), nil, seal.NewSealer(f.world.Signer(t, "passerelle-gateway")), f.world.Store(t), nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bustest.Follow(t, ctx, func(ctx context.Context) { fresh.Follow(ctx, f.client) })
	deadline := time.Now().Add(10 * time.Second)
	for fresh.Ready() != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got, ok := fresh.Store().Get(id)
	if !ok || got.Status != policy.ConsentRevoked {
		t.Fatalf("rebuilt consent state: %+v %v", got, ok)
	}
}
