package memberkeys_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/memberkeys"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/transit"
	"github.com/passerelle-bus/passerelle/internal/transit/transittest"
)

const nir = "184127645108946"

// denied says whether err is Vault's 403: the policy refused, not some
// other failure passing for a refusal.
func denied(err error) bool {
	var re *vault.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}

// as opens member's keys as the configuration would, with token.
func as(t *testing.T, token, member string) (seal.Signer, pseudo.Keyring, *transit.Client) {
	t.Helper()
	cfg := transittest.Config(t)
	cfg.Token = config.SecretValue(token)
	k, err := memberkeys.Open(context.Background(), &memberkeys.Vault{Config: cfg}, "", member)
	if err != nil {
		t.Fatalf("open the keys of %s with its policy: %v", member, err)
	}
	t.Cleanup(k.Close)
	c, err := transit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return k.Signer, k.Keyring, c
}

// Every policy of deploy/vault, loaded into the real Vault, grants its
// component what it uses and refuses it the rest: a connector signs as
// its own member and computes its own domain's pseudonyms, never another
// member's signature or another domain's pseudonyms; the gateway signs as
// itself, computes what it reads, and cannot sign as a connector. One case
// per domain of the registry.
func TestPoliciesAgainstVault(t *testing.T) {
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
	msgs := [][]byte{[]byte(nir)}

	// The gateway's pseudonyms, which each connector's must equal.
	gwSigner, gwKeys, gwClient := as(t, transittest.Token(t, root, memberkeys.GatewayPolicyName), gw)
	if _, err := gwSigner.Sign(ctx, msgs); err != nil {
		t.Fatalf("gateway signs as itself: %v", err)
	}
	for _, k := range pseudo.GatewayKeyNames(domains.Names()) {
		if _, err := gwKeys.HMAC(ctx, k, msgs); err != nil {
			t.Errorf("gateway HMAC %s: %v", k, err)
		}
	}
	gwPseudo := pseudo.New(gwKeys)

	for _, d := range domains.All() {
		t.Run("connector-"+d.Name, func(t *testing.T) {
			signer, kr, c := as(t, transittest.Token(t, root, memberkeys.ConnectorPolicyName(d.Name)), d.Publisher.ID)
			if _, err := signer.Sign(ctx, msgs); err != nil {
				t.Errorf("sign as %s: %v", d.Publisher.ID, err)
			}
			for _, k := range pseudo.PublisherKeyNames(d.Name) {
				if _, err := kr.HMAC(ctx, k, msgs); err != nil {
					t.Errorf("HMAC %s: %v", k, err)
				}
			}
			mine, err := pseudo.New(kr).Domain(ctx, d.Name, []string{nir})
			if err != nil {
				t.Fatal(err)
			}
			if theirs, err := gwPseudo.Domain(ctx, d.Name, []string{nir}); err != nil || theirs[0] != mine[0] {
				t.Errorf("the gateway's %s pseudonym %v differs from the connector's %v (%v)", d.Name, theirs, mine, err)
			}
			// Another member's signature, the gateway's included.
			for _, m := range append(members, gw) {
				if m == d.Publisher.ID {
					continue
				}
				if _, err := c.Sign(ctx, memberkeys.SignKeyName(m), 1, transit.Ed25519, msgs); !denied(err) {
					t.Errorf("signing as %s: %v, want 403", m, err)
				}
			}
			// Its domain's KEK wraps and unwraps an epoch key; the gateway
			// unwraps it; no other domain's KEK, and no retiring.
			aad := []byte("epoch")
			w, err := kek.NewVault(c).Wrap(ctx, d.Name, []byte("an epoch key"), aad)
			if err != nil {
				t.Fatalf("wrap with %s's KEK: %v", d.Name, err)
			}
			if _, err := kek.NewVault(c).Unwrap(ctx, d.Name, w, aad); err != nil {
				t.Errorf("unwrap with %s's KEK: %v", d.Name, err)
			}
			if _, err := kek.NewVault(gwClient).Unwrap(ctx, d.Name, w, aad); err != nil {
				t.Errorf("the gateway unwrapping %s's epoch key: %v", d.Name, err)
			}
			if err := kek.NewVault(c).Retire(ctx, d.Name, 2); !denied(err) {
				t.Errorf("a connector retiring its KEK: %v, want 403", err)
			}
			for _, o := range domains.Names() {
				if o == d.Name {
					continue
				}
				if _, err := kek.NewVault(c).Wrap(ctx, o, []byte("k"), aad); !denied(err) {
					t.Errorf("wrap with %s's KEK: %v, want 403", o, err)
				}
				if _, err := kek.NewVault(c).Unwrap(ctx, o, w, aad); !denied(err) {
					t.Errorf("unwrap with %s's KEK: %v, want 403", o, err)
				}
			}
			if _, err := kek.NewVault(gwClient).Wrap(ctx, d.Name, []byte("k"), aad); !denied(err) {
				t.Errorf("the gateway wrapping with %s's KEK: %v, want 403", d.Name, err)
			}
			// Every other key: another domain's pseudonyms and link seal,
			// the audit pseudonyms.
			refused := others(pseudo.PublisherKeyNames(d.Name))
			for _, k := range refused {
				if _, err := kr.HMAC(ctx, k, msgs); !denied(err) {
					t.Errorf("HMAC %s: %v, want 403", k, err)
				}
			}
		})
	}

	t.Run("gateway", func(t *testing.T) {
		for _, m := range members {
			if _, err := gwClient.Sign(ctx, memberkeys.SignKeyName(m), 1, transit.Ed25519, msgs); !denied(err) {
				t.Errorf("gateway signing as %s: %v, want 403", m, err)
			}
			if _, _, err := gwClient.PublicKeys(ctx, memberkeys.SignKeyName(m)); !denied(err) {
				t.Errorf("gateway reading the key of %s: %v, want 403", m, err)
			}
		}
		// The keys only connectors use: routing partitions and link ids.
		for _, k := range others(pseudo.GatewayKeyNames(domains.Names())) {
			if _, err := gwKeys.HMAC(ctx, k, msgs); !denied(err) {
				t.Errorf("gateway HMAC %s: %v, want 403", k, err)
			}
		}
		if err := gwClient.EnsureKey(ctx, memberkeys.DefaultPseudoPrefix+"domain-new", transit.HMACKey); !denied(err) {
			t.Errorf("gateway creating a key: %v, want 403", err)
		}
	})
}

// others are the pseudonym keys of a complete keyring not in granted.
func others(granted []string) []string {
	var out []string
	for _, k := range pseudo.KeyNames(domains.Names()) {
		if !slices.Contains(granted, k) {
			out = append(out, k)
		}
	}
	return out
}
