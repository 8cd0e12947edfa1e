package kek_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/transit"
	"github.com/passerelle-bus/passerelle/internal/transit/transittest"
)

// Both KEKs keep the same promises; Vault's is the real Vault of
// deploy/local.
func keks(t *testing.T) map[string]kek.KEK {
	return map[string]kek.KEK{"files": kek.NewFiles(t.TempDir()), "vault": vaultKEK(t)}
}

func vaultKEK(t *testing.T) kek.KEK {
	v := kek.NewVault(transittest.Client(t))
	return v
}

// domainFor is a domain name of its own per test, so versions and
// retirements in Vault do not meet another test's.
func domainFor(t *testing.T) string {
	return fmt.Sprintf("t%d", time.Now().UnixNano())
}

func TestWrapUnwrapRotateRetire(t *testing.T) {
	ctx := context.Background()
	for name, k := range keks(t) {
		t.Run(name, func(t *testing.T) {
			d := domainFor(t)
			if v, ok := k.(*kek.Vault); ok {
				if err := v.Ensure(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			key, aad := bytes.Repeat([]byte{7}, 32), []byte("passerelle-epoch/v1\x00"+d+"\x001")
			w1, err := k.Wrap(ctx, d, key, aad)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := kek.Version(w1); err != nil || v != 1 {
				t.Fatalf("version of %q: %d, %v", w1, v, err)
			}
			if got, err := k.Unwrap(ctx, d, w1, aad); err != nil || !bytes.Equal(got, key) {
				t.Fatalf("unwrap: %x, %v", got, err)
			}
			if _, err := k.Unwrap(ctx, d, w1, []byte("another epoch")); !errors.Is(err, kek.ErrRefused) {
				t.Fatalf("unwrap under another aad: %v, want ErrRefused", err)
			}
			altered := w1[:len(w1)-6] + flip(w1[len(w1)-6:len(w1)-5]) + w1[len(w1)-5:]
			if _, err := k.Unwrap(ctx, d, altered, aad); !errors.Is(err, kek.ErrRefused) {
				t.Fatalf("altered wrapped key: %v, want ErrRefused", err)
			}
			v2, err := k.Rotate(ctx, d)
			if err != nil || v2 != 2 {
				t.Fatalf("rotate: %d, %v", v2, err)
			}
			w2, err := k.Wrap(ctx, d, key, aad)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := kek.Version(w2); v != 2 {
				t.Fatalf("wrapped after rotation with version %d", v)
			}
			if _, err := k.Unwrap(ctx, d, w1, aad); err != nil {
				t.Fatalf("version 1 before retirement: %v", err)
			}
			if err := k.Retire(ctx, d, 2); err != nil {
				t.Fatal(err)
			}
			if _, err := k.Unwrap(ctx, d, w1, aad); !errors.Is(err, kek.ErrRefused) {
				t.Fatalf("version 1 after retirement: %v, want ErrRefused", err)
			}
			if got, err := k.Unwrap(ctx, d, w2, aad); err != nil || !bytes.Equal(got, key) {
				t.Fatalf("version 2 after retirement: %v", err)
			}
		})
	}
}

func flip(s string) string {
	if s == "A" {
		return "B"
	}
	return "A"
}

// Vault not answering is not a shredded key: whoever asked must say
// "try later".
func TestVaultDownIsUnavailable(t *testing.T) {
	c, err := transit.New(transit.Config{Address: "http://127.0.0.1:1", Token: config.SecretValue("x"), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	k := kek.NewVault(c)
	if _, err := k.Unwrap(context.Background(), "tax", "vault:v1:AAAA", nil); !errors.Is(err, kek.ErrUnavailable) {
		t.Fatalf("unwrap with Vault down: %v, want ErrUnavailable", err)
	}
	if _, err := k.Wrap(context.Background(), "tax", []byte("k"), nil); !errors.Is(err, kek.ErrUnavailable) || errors.Is(err, kek.ErrRefused) {
		t.Fatalf("wrap with Vault down: %v, want ErrUnavailable", err)
	}
}

func TestVersion(t *testing.T) {
	for in, want := range map[string]int{"vault:v3:abc": 3, "file:v12:x": 12, "vault:v0:x": 0, "vault:3:x": 0, "v3": 0, "": 0, "vault:vx:y": 0} {
		got, err := kek.Version(in)
		if (want == 0) != (err != nil) || got != want {
			t.Errorf("Version(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := kek.Version(strings.Repeat("z", 100)); err == nil || len(err.Error()) > 60 {
		t.Errorf("a long non-key is refused briefly: %v", err)
	}
}
