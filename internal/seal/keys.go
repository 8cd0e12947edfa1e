package seal

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// The two algorithms Passerelle signs with.
const (
	EdDSA = "EdDSA"
	ES256 = "ES256"
)

// Signer signs many inputs at once: a remote key answers a whole batch in
// one round trip. Two implementations: a key file, and Vault Transit.
type Signer interface {
	// KeyID is the RFC 7638 thumbprint of the public key, base64url.
	KeyID() string
	// Algorithm is EdDSA or ES256.
	Algorithm() string
	// Sign returns one raw JWS signature per input (r‖s for ES256).
	Sign(ctx context.Context, inputs [][]byte) ([][]byte, error)
}

// GenerateKey returns a new private JWK for alg, with kid set to its
// thumbprint.
func GenerateKey(alg string) (jwk.Key, error) {
	var raw any
	switch alg {
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		raw = priv
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		raw = priv
	default:
		return nil, fmt.Errorf("%w: %q (want EdDSA or ES256)", ErrAlgorithm, alg)
	}
	return keyFromRaw(raw, alg)
}

func keyFromRaw(raw any, alg string) (jwk.Key, error) {
	k, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("import key: %w", err)
	}
	kid, err := Thumbprint(k)
	if err != nil {
		return nil, err
	}
	sa, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: sa, jwk.KeyUsageKey: "sig"} {
		if err := k.Set(name, v); err != nil {
			return nil, fmt.Errorf("set %s: %w", name, err)
		}
	}
	return k, nil
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of k's public part,
// base64url: the kid of every Passerelle key.
func Thumbprint(k jwk.Key) (string, error) {
	pub, err := k.PublicKey()
	if err != nil {
		return "", fmt.Errorf("public key: %w", err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// PublicJWK returns the public JWK of a raw public key, with kid and alg.
func PublicJWK(pub crypto.PublicKey) (jwk.Key, error) {
	alg := EdDSA
	if _, ok := pub.(*ecdsa.PublicKey); ok {
		alg = ES256
	}
	return keyFromRaw(pub, alg)
}

// KeySigner signs with a private key held in memory (loaded from a key
// file in the data directory).
type KeySigner struct {
	kid, alg string
	raw      any
}

// NewKeySigner returns a signer for a private JWK.
func NewKeySigner(k jwk.Key) (*KeySigner, error) {
	alg, ok := k.Algorithm()
	if !ok || (alg.String() != EdDSA && alg.String() != ES256) {
		return nil, fmt.Errorf("%w: key has alg %v", ErrAlgorithm, alg)
	}
	var raw any
	if err := jwk.Export(k, &raw); err != nil {
		return nil, fmt.Errorf("export key: %w", err)
	}
	switch raw.(type) {
	case ed25519.PrivateKey, *ecdsa.PrivateKey:
	default:
		return nil, fmt.Errorf("key is not a private Ed25519 or P-256 key (%T)", raw)
	}
	kid, err := Thumbprint(k)
	if err != nil {
		return nil, err
	}
	return &KeySigner{kid: kid, alg: alg.String(), raw: raw}, nil
}

// KeyID implements Signer.
func (s *KeySigner) KeyID() string { return s.kid }

// Algorithm implements Signer.
func (s *KeySigner) Algorithm() string { return s.alg }

// Sign implements Signer.
func (s *KeySigner) Sign(_ context.Context, inputs [][]byte) ([][]byte, error) {
	out := make([][]byte, len(inputs))
	for i, in := range inputs {
		sig, err := jwsbb.Sign(s.raw, s.alg, in, rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		out[i] = sig
	}
	return out, nil
}

var _ Signer = (*KeySigner)(nil)
