// Package kek keeps the key-encryption keys of personal data: one per
// domain, versioned, in Vault Transit or, for the embedded default, in key
// files. A KEK wraps only a domain's epoch keys (internal/datakeys), a few
// keys a year, so a KEK is asked once when a component starts, never per
// record; and retiring its old versions is what makes a crypto-shredding
// final for every copy of the log, backups included.
package kek

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// KEK wraps keys under a domain's key-encryption key. Two implementations:
// Vault (Transit, keys that never leave Vault) and Files.
type KEK interface {
	// Wrap encrypts key under the latest version of domain's KEK, bound
	// to aad: it unwraps only with the same aad.
	Wrap(ctx context.Context, domain string, key, aad []byte) (string, error)
	// Unwrap reverses Wrap. A wrapped key of a retired version, or under
	// another aad, is ErrRefused; a KEK that cannot be reached is
	// ErrUnavailable.
	Unwrap(ctx context.Context, domain, wrapped string, aad []byte) ([]byte, error)
	// Rotate adds a version, which later Wraps use, and returns it.
	Rotate(ctx context.Context, domain string) (int, error)
	// Retire destroys every version below version for good.
	Retire(ctx context.Context, domain string, below int) error
}

var (
	// ErrRefused: the wrapped key does not open, because it was wrapped
	// for something else (aad), altered, or its version was retired.
	ErrRefused = errors.New("kek: the wrapped key does not open")
	// ErrUnavailable: the key service could not be asked. Whoever needs
	// the key answers "try later", never a guess.
	ErrUnavailable = errors.New("kek: the key service is unavailable")
)

// Version reads the KEK version a wrapped key names ("vault:v3:…",
// "file:v3:…").
func Version(wrapped string) (int, error) {
	_, rest, ok := strings.Cut(wrapped, ":v")
	if !ok {
		return 0, fmt.Errorf("kek: %q names no version", clip(wrapped))
	}
	v, _, ok := strings.Cut(rest, ":")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 1 {
		return 0, fmt.Errorf("kek: %q names no version", clip(wrapped))
	}
	return n, nil
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}
