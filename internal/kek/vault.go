package kek

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	vault "github.com/hashicorp/vault/api"

	"github.com/passerelle-bus/passerelle/internal/transit"
)

// DefaultPrefix names domain KEKs in Transit: passerelle-kek-<domain>.
const DefaultPrefix = "passerelle-kek-"

// KeyName is the Transit key of domain's KEK.
func KeyName(domain string) string { return DefaultPrefix + domain }

// Vault keeps each domain's KEK in Vault Transit (aes256-gcm96), where it
// never leaves: Vault wraps and unwraps.
type Vault struct{ c *transit.Client }

// NewVault returns a KEK over c.
func NewVault(c *transit.Client) *Vault { return &Vault{c: c} }

// Ensure creates the KEK of each domain that lacks one.
func (v *Vault) Ensure(ctx context.Context, domains ...string) error {
	for _, d := range domains {
		if err := v.c.EnsureKey(ctx, KeyName(d), transit.AES256GCM); err != nil {
			return classify(err)
		}
	}
	return nil
}

// Wrap implements KEK.
func (v *Vault) Wrap(ctx context.Context, domain string, key, aad []byte) (string, error) {
	w, err := v.c.Encrypt(ctx, KeyName(domain), key, aad)
	return w, classify(err)
}

// Unwrap implements KEK.
func (v *Vault) Unwrap(ctx context.Context, domain, wrapped string, aad []byte) ([]byte, error) {
	k, err := v.c.Decrypt(ctx, KeyName(domain), wrapped, aad)
	return k, classify(err)
}

// Rotate implements KEK.
func (v *Vault) Rotate(ctx context.Context, domain string) (int, error) {
	if err := v.c.Rotate(ctx, KeyName(domain)); err != nil {
		return 0, classify(err)
	}
	n, err := v.c.LatestVersion(ctx, KeyName(domain))
	return n, classify(err)
}

// Retire implements KEK.
func (v *Vault) Retire(ctx context.Context, domain string, below int) error {
	return classify(v.c.Retire(ctx, KeyName(domain), below))
}

// classify tells a refusal (Vault answered 400: a wrong aad, an altered
// or retired ciphertext) from Vault not answering or not allowing the
// call, which is a fault to report, never a key to count as shredded.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var re *vault.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
