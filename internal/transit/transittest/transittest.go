// Package transittest gives tests the real Vault named by VAULT_ADDR and
// VAULT_TOKEN. Outside CI a missing Vault skips with the command that
// starts one; in CI it fails.
package transittest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/transit"
)

// timeout bounds every call to the test Vault.
const timeout = 30 * time.Second

// Config locates the test Vault, with its root token.
func Config(t testing.TB) transit.Config {
	t.Helper()
	addr := os.Getenv("VAULT_ADDR")
	if addr == "" {
		msg := "Vault not configured: run `eval $(deploy/local/vault.sh up | sed 's/^/export /')` (or make test)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must not skip Vault tests")
		}
		t.Skip(msg)
	}
	return transit.Config{Address: addr, Token: config.SecretValue(os.Getenv("VAULT_TOKEN")), Timeout: timeout}
}

// Client returns a Transit client on the test Vault.
func Client(t testing.TB) *transit.Client {
	t.Helper()
	c, err := transit.New(Config(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Root returns a Vault API client with the root token, for what a test
// sets up beyond Transit: policies and tokens.
func Root(t testing.TB) *vault.Client {
	t.Helper()
	cfg := Config(t)
	vc := vault.DefaultConfig()
	vc.Address, vc.Timeout = cfg.Address, timeout
	v, err := vault.NewClient(vc)
	if err != nil {
		t.Fatal(err)
	}
	v.SetToken(cfg.Token.Value())
	t.Cleanup(vc.HttpClient.CloseIdleConnections)
	return v
}

// Token mints a token holding only the named policies — not even Vault's
// default one, so what it may do is what they grant — revoked when the
// test ends.
func Token(t testing.TB, root *vault.Client, policies ...string) string {
	t.Helper()
	ctx := context.Background()
	s, err := root.Auth().Token().CreateWithContext(ctx, &vault.TokenCreateRequest{
		Policies: policies, NoDefaultPolicy: true, TTL: "10m",
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := s.Auth.ClientToken
	t.Cleanup(func() { root.Auth().Token().RevokeTreeWithContext(context.Background(), tok) })
	return tok
}

// LoadPolicies writes every *.hcl file of dir into the test Vault as an
// ACL policy named as its file, as an operator loads deploy/vault.
func LoadPolicies(t testing.TB, root *vault.Client, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no policy in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := root.Sys().PutPolicyWithContext(context.Background(), strings.TrimSuffix(filepath.Base(f), ".hcl"), string(b)); err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
	}
}

var seq atomic.Int64

// KeyName returns a key name no other test uses, on a Vault shared by runs.
func KeyName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}
