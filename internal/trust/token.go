package trust

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// MaxTokenTTL is the longest a request JWT may live (docs/DESIGN.md, "HTTP").
const MaxTokenTTL = 5 * time.Minute

// MintToken returns a request JWT for member, signed with its private key:
// iss = sub = member, aud = the gateway, iat, exp and a random jti.
func MintToken(key jwk.Key, member, audience string, ttl time.Duration, now time.Time) ([]byte, error) {
	return MintBoundToken(key, member, audience, ttl, now, "")
}

// MintBoundToken is MintToken with, if x5t is not "", the claim
// cnf {"x5t#S256": x5t} (RFC 8705, section 3.1): the gateway then serves
// the token only over a TLS connection presenting that certificate, so a
// token that leaks is of no use without the certificate's key.
func MintBoundToken(key jwk.Key, member, audience string, ttl time.Duration, now time.Time, x5t string) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("no signing key for %s", member)
	}
	if ttl <= 0 || ttl > MaxTokenTTL {
		return nil, fmt.Errorf("ttl %s: want more than 0 and at most %s", ttl, MaxTokenTTL)
	}
	alg, ok := key.Algorithm()
	if !ok {
		return nil, fmt.Errorf("key has no alg")
	}
	sa, ok := jwa.LookupSignatureAlgorithm(alg.String())
	if !ok {
		return nil, fmt.Errorf("key alg %s is not a signature algorithm", alg)
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	b := jwt.NewBuilder()
	if x5t != "" {
		b = b.Claim("cnf", map[string]string{"x5t#S256": x5t})
	}
	tok, err := b.
		Issuer(member).
		Subject(member).
		Audience([]string{audience}).
		IssuedAt(now).
		Expiration(now.Add(ttl)).
		JwtID(base64.RawURLEncoding.EncodeToString(jti)).
		Build()
	if err != nil {
		return nil, fmt.Errorf("build token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(sa, key))
	if err != nil {
		return nil, fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}
