// Package transittest gives tests the real Vault named by VAULT_ADDR and
// VAULT_TOKEN. Outside CI a missing Vault skips with the command that
// starts one; in CI it fails.
package transittest

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/transit"
)

// Client returns a Transit client on the test Vault.
func Client(t testing.TB) *transit.Client {
	t.Helper()
	addr := os.Getenv("VAULT_ADDR")
	if addr == "" {
		msg := "Vault not configured: run `eval $(deploy/local/vault.sh up | sed 's/^/export /')` (or make test)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must not skip Vault tests")
		}
		t.Skip(msg)
	}
	c, err := transit.New(transit.Config{Address: addr, Token: os.Getenv("VAULT_TOKEN"), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var seq atomic.Int64

// KeyName returns a key name no other test uses, on a Vault shared by runs.
func KeyName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}
