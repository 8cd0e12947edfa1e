package memberkeys_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/memberkeys"
	"github.com/passerelle-bus/passerelle/internal/transit/transittest"
)

// Attacks on the Vault policies with a stolen connector or gateway token:
// every Transit path that would read, export, back up, rotate, reconfigure
// or delete a key, path spellings that might slip past an exact-path
// rule, and the sys/ and auth/ paths that would give the token more
// policies. Each is answered 403 (or, for a path Vault itself refuses
// to route, 4xx): never 2xx.
func TestVaultPolicyAttacks(t *testing.T) {
	ctx := context.Background()
	root := transittest.Root(t)
	gw := exampleGateway(t)
	var members []string
	for _, p := range domains.Publishers() {
		members = append(members, p.ID)
	}
	if err := memberkeys.Provision(ctx, transittest.Client(t), append(members, gw), domains.Names()); err != nil {
		t.Fatal(err)
	}
	transittest.LoadPolicies(t, root, policyDir)
	tax, _ := domains.ByName("tax")
	own := memberkeys.SignKeyName(tax.Publisher.ID)
	const mine = "passerelle-pseudo-domain-tax"
	input := map[string]any{"input": base64.StdEncoding.EncodeToString([]byte(nir))}

	type attempt struct {
		method, path string
		body         map[string]any
	}
	// theirs is a key the principal has no right to: another domain's
	// pseudonyms for a connector, the connectors' link ids for the gateway.
	common := func(theirs string) []attempt {
		return []attempt{
			{"GET", "transit/keys/" + theirs, nil},
			{"GET", "transit/keys/" + mine, nil},
			{"LIST", "transit/keys", nil},
			{"GET", "transit/export/hmac-key/" + mine, nil},
			{"GET", "transit/export/hmac-key/" + mine + "/latest", nil},
			{"GET", "transit/export/signing-key/" + own, nil},
			{"GET", "transit/backup/" + own, nil},
			{"GET", "transit/backup/" + mine, nil},
			{"POST", "transit/restore/" + mine, map[string]any{"backup": "eA==", "force": true}},
			{"POST", "transit/keys/" + own + "/rotate", nil},
			{"POST", "transit/keys/" + mine + "/rotate", nil},
			{"POST", "transit/keys/" + own + "/config", map[string]any{"exportable": true, "allow_plaintext_backup": true, "deletion_allowed": true}},
			{"POST", "transit/keys/" + mine + "/config", map[string]any{"min_decryption_version": 1, "exportable": true}},
			{"POST", "transit/keys/" + own + "/trim", map[string]any{"min_available_version": 1}},
			{"DELETE", "transit/keys/" + own, nil},
			{"POST", "transit/keys/passerelle-pseudo-domain-new", map[string]any{"type": "hmac"}},
			{"POST", "transit/keys/" + theirs + "/import", map[string]any{"ciphertext": "eA=="}},
			{"POST", "transit/hmac/" + theirs + "/sha2-256", input},
			{"POST", "transit/hmac/" + theirs, input},
			{"POST", "transit/hmac/" + theirs + "/sha2-512", input},
			{"POST", "transit/hmac/" + mine + "/sha2-256/../../" + theirs + "/sha2-256", input},
			{"POST", "transit/hmac/" + mine + "/../" + theirs + "/sha2-256", input},
			{"POST", "transit/hmac/" + theirs + "%2Fsha2-256", input},
			{"POST", "transit//hmac/" + theirs + "/sha2-256", input},
			{"POST", "transit/hmac/" + theirs + "/sha2-256/", input},
			{"POST", "transit/HMAC/" + theirs + "/sha2-256", input},
			{"POST", "transit/datakey/plaintext/" + mine, nil},
			{"POST", "transit/encrypt/" + mine, map[string]any{"plaintext": "eA=="}},
			{"POST", "transit/cache-config", map[string]any{"size": 1}},
			{"GET", "sys/policies/acl/gateway", nil},
			{"PUT", "sys/policies/acl/connector-tax", map[string]any{"policy": `path "*" { capabilities = ["sudo","create","read","update","delete","list"] }`}},
			{"GET", "sys/mounts", nil},
			{"POST", "sys/mounts/transit/tune", map[string]any{"default_lease_ttl": "1h"}},
			{"POST", "auth/token/create", map[string]any{"policies": []string{"gateway"}}},
			{"POST", "auth/token/create", map[string]any{"policies": []string{"root"}}},
			{"POST", "auth/token/create-orphan", map[string]any{}},
			{"POST", "auth/token/create/gateway", map[string]any{}},
			{"GET", "auth/token/accessors", nil},
			{"GET", "sys/audit", nil},
			{"POST", "sys/wrapping/wrap", map[string]any{"x": "y"}},
			{"POST", "sys/tools/random/32", nil},
		}
	}
	for _, who := range []struct{ name, policy, theirs string }{
		{"connector-tax", memberkeys.ConnectorPolicyName("tax"), "passerelle-pseudo-domain-health"},
		{"gateway", memberkeys.GatewayPolicyName, "passerelle-pseudo-link"},
	} {
		t.Run(who.name, func(t *testing.T) {
			tok := transittest.Token(t, root, who.policy)
			v, err := root.Clone()
			if err != nil {
				t.Fatal(err)
			}
			v.SetToken(tok)
			attempts := append(common(who.theirs),
				attempt{"POST", "transit/sign/" + memberkeys.SignKeyName("cnam"), input},
				attempt{"POST", "transit/sign/" + own + "/sha2-512", input},
			)
			if who.name == "gateway" {
				attempts = append(attempts, attempt{"POST", "transit/hmac/passerelle-pseudo-routing/sha2-256", input},
					attempt{"POST", "transit/sign/" + own, input})
			}
			for _, a := range attempts {
				r := v.NewRequest(a.method, "/v1/"+a.path)
				if a.body != nil {
					if err := r.SetJSONBody(a.body); err != nil {
						t.Fatal(err)
					}
				}
				resp, err := v.RawRequestWithContext(ctx, r)
				status := 0
				if resp != nil {
					status = resp.StatusCode
					resp.Body.Close()
				}
				if err == nil && status < 300 {
					t.Errorf("%s %s: %d, the policy allowed it", a.method, a.path, status)
				} else if status != http.StatusForbidden {
					t.Logf("%s %s: %d %v", a.method, a.path, status, err)
				}
			}
		})
	}
	// The control: the token does what its policy grants.
	tok := transittest.Token(t, root, memberkeys.ConnectorPolicyName("tax"))
	v, _ := root.Clone()
	v.SetToken(tok)
	if _, err := v.Logical().WriteWithContext(ctx, "transit/hmac/"+mine+"/sha2-256", input); err != nil {
		t.Fatalf("the control failed: connector-tax cannot HMAC under its own key: %v", err)
	}
}
