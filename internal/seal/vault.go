package seal

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"
	"sort"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/passerelle-bus/passerelle/internal/transit"
)

// VaultSigner signs with a Transit key: the private key never leaves Vault,
// and a batch of records is one round trip.
type VaultSigner struct {
	t       *transit.Client
	name    string
	version int
	keyType string
	alg     string
	kid     string
}

// NewVaultSigner signs with the latest version of Transit key name, which
// must be an ed25519 or ecdsa-p256 key.
func NewVaultSigner(ctx context.Context, t *transit.Client, name string) (*VaultSigner, error) {
	pubs, latest, err := t.PublicKeys(ctx, name)
	if err != nil {
		return nil, err
	}
	s := &VaultSigner{t: t, name: name, version: latest}
	switch pub := pubs[latest].(type) {
	case ed25519.PublicKey:
		s.keyType, s.alg = transit.Ed25519, EdDSA
	case *ecdsa.PublicKey:
		s.keyType, s.alg = transit.ECDSAP256, ES256
	default:
		return nil, fmt.Errorf("vault key %s version %d: %T is not a signing key we use", name, latest, pub)
	}
	k, err := PublicJWK(pubs[latest])
	if err != nil {
		return nil, err
	}
	s.kid, _ = k.KeyID()
	return s, nil
}

// KeyID implements Signer.
func (s *VaultSigner) KeyID() string { return s.kid }

// Algorithm implements Signer.
func (s *VaultSigner) Algorithm() string { return s.alg }

// Sign implements Signer with one Transit call for all inputs.
func (s *VaultSigner) Sign(ctx context.Context, inputs [][]byte) ([][]byte, error) {
	return s.t.Sign(ctx, s.name, s.version, s.keyType, inputs)
}

// VaultPublicSet returns the public JWKS of every version of a Transit key,
// oldest first: what the member registry publishes for it.
func VaultPublicSet(ctx context.Context, t *transit.Client, name string) (jwk.Set, error) {
	pubs, _, err := t.PublicKeys(ctx, name)
	if err != nil {
		return nil, err
	}
	versions := make([]int, 0, len(pubs))
	for v := range pubs {
		versions = append(versions, v)
	}
	sort.Ints(versions)
	set := jwk.NewSet()
	for _, v := range versions {
		k, err := PublicJWK(pubs[v])
		if err != nil {
			return nil, err
		}
		if err := set.AddKey(k); err != nil {
			return nil, err
		}
	}
	return set, nil
}

var _ Signer = (*VaultSigner)(nil)
