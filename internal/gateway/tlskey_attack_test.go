package gateway_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/pki"
)

// The gateway's TLS private key is a secret like any other: a key file
// its group or others may read is refused at start, as file:PATH is
// (docs/DESIGN.md, "Configuration"), not served with.
func TestTLSAttackKeyReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, "gateway.crt"), filepath.Join(dir, "gateway.key")
	if _, err := ca.EnsureServer(crt, key, []string{"127.0.0.1"}, now); err != nil {
		t.Fatal(err)
	}
	cfg := gateway.TLSConfig{CertFile: crt, KeyFile: key}
	if _, err := cfg.ServerConfig(); err != nil {
		t.Fatalf("a 0600 key: %v", err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		_, err := cfg.ServerConfig()
		if !errors.Is(err, config.ErrSecretFileMode) || !strings.Contains(err.Error(), "tls.key_file") {
			t.Errorf("a %04o key: got %v, want %v naming tls.key_file", mode, err, config.ErrSecretFileMode)
		}
	}
}
