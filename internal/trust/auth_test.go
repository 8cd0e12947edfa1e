package trust_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

const gw = "passerelle-gateway"

type claims struct {
	iss, sub, aud, jti string
	iat, exp           time.Time
}

func mint(t *testing.T, key jwk.Key, alg jwa.SignatureAlgorithm, c claims) []byte {
	t.Helper()
	b := jwt.NewBuilder().Issuer(c.iss).Subject(c.sub).Audience([]string{c.aud}).IssuedAt(c.iat).Expiration(c.exp)
	if c.jti != "" {
		b = b.JwtID(c.jti)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// Each way a request token can be wrong is refused with its own code, and
// nothing of it reaches the policy.
func TestAuthentication(t *testing.T) {
	w := trusttest.New(t, specs)
	store := w.Store(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	auth := trust.NewAuthenticator(store, gw, func() time.Time { return now })
	key, _ := w.Keys.Current("dgfip")
	ok := claims{iss: "dgfip", sub: "dgfip", aud: gw, jti: "j1", iat: now.Add(-time.Minute), exp: now.Add(4 * time.Minute)}
	with := func(f func(*claims)) claims { c := ok; f(&c); return c }
	eddsa := jwa.EdDSA()

	good := mint(t, key, eddsa, ok)
	if m, err := auth.Authenticate(good); err != nil || m.ID != "dgfip" {
		t.Fatalf("good token: %v %v", m, err)
	}

	// The classic confusion attack: HS256 keyed with the member's public key.
	pub, _ := key.PublicKey()
	var rawPub ed25519.PublicKey
	if err := jwk.Export(pub, &rawPub); err != nil {
		t.Fatal(err)
	}
	hmacKey, _ := jwk.Import([]byte(rawPub))
	kid, _ := key.KeyID()
	hmacKey.Set(jwk.KeyIDKey, kid)

	stranger, _ := seal.GenerateKey(seal.EdDSA)

	for _, tc := range []struct {
		name  string
		token []byte
		code  string
	}{
		{"replayed", good, trust.AuthReplayed},
		{"expired", mint(t, key, eddsa, with(func(c *claims) { c.jti, c.iat, c.exp = "j2", now.Add(-6*time.Minute), now.Add(-time.Minute) })), trust.AuthExpired},
		{"not yet valid", mint(t, key, eddsa, with(func(c *claims) { c.jti, c.iat, c.exp = "j3", now.Add(2*time.Minute), now.Add(5*time.Minute) })), trust.AuthNotYetValid},
		{"wrong audience", mint(t, key, eddsa, with(func(c *claims) { c.jti, c.aud = "j4", "another-gateway" })), trust.AuthAudience},
		{"lives ten minutes", mint(t, key, eddsa, with(func(c *claims) { c.jti, c.exp = "j5", c.iat.Add(10*time.Minute) })), trust.AuthLifetime},
		{"speaks for another member", mint(t, key, eddsa, with(func(c *claims) { c.jti, c.iss, c.sub = "j6", "cnam", "cnam" })), trust.AuthIssuer},
		{"no jti", mint(t, key, eddsa, with(func(c *claims) { c.jti = "" })), trust.AuthMissingClaims},
		{"unsigned, alg none", []byte(b64(`{"alg":"none","kid":"`+kid+`"}`) + "." + b64(`{"iss":"dgfip"}`) + "."), trust.AuthAlgorithm},
		{"HMAC with the public key as secret", mint(t, hmacKey, jwa.HS256(), with(func(c *claims) { c.jti = "j7" })), trust.AuthAlgorithm},
		{"unknown kid", mint(t, stranger, eddsa, with(func(c *claims) { c.jti = "j8" })), trust.AuthUnknownKey},
		{"bad signature", tamper(mint(t, key, eddsa, with(func(c *claims) { c.jti = "j9" }))), trust.AuthBadSignature},
		{"garbage", []byte("not a token"), trust.AuthMalformed},
		{"exp before iat", mint(t, key, eddsa, with(func(c *claims) { c.jti, c.iat, c.exp = "j11", now, now.Add(-time.Second) })), trust.AuthLifetime},
		{"exp equal to iat", mint(t, key, eddsa, with(func(c *claims) { c.jti, c.exp = "j12", c.iat })), trust.AuthLifetime},
		{"exp as a string", signRaw(t, key, fmt.Sprintf(`{"iss":"dgfip","sub":"dgfip","aud":%q,"jti":"j13","iat":%d,"exp":"%d"}`, gw, now.Unix(), now.Unix()+60)), trust.AuthMalformed},
		{"iat as a string", signRaw(t, key, fmt.Sprintf(`{"iss":"dgfip","sub":"dgfip","aud":%q,"jti":"j14","iat":"%d","exp":%d}`, gw, now.Unix(), now.Unix()+60)), trust.AuthMalformed},
		{"jti as a number", signRaw(t, key, fmt.Sprintf(`{"iss":"dgfip","sub":"dgfip","aud":%q,"jti":15,"iat":%d,"exp":%d}`, gw, now.Unix(), now.Unix()+60)), trust.AuthMalformed},
		{"aud as a number", signRaw(t, key, fmt.Sprintf(`{"iss":"dgfip","sub":"dgfip","aud":16,"jti":"j16","iat":%d,"exp":%d}`, now.Unix(), now.Unix()+60)), trust.AuthMalformed},
		{"padded base64", pad(mint(t, key, eddsa, with(func(c *claims) { c.jti = "j17" }))), trust.AuthMalformed},
		{"stray bits in base64", strayBits(mint(t, key, eddsa, with(func(c *claims) { c.jti = "j18" }))), trust.AuthMalformed},
		{"missing", nil, trust.AuthMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.Authenticate(tc.token)
			var ae *trust.AuthError
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}

	// Revoking the member takes effect on the next request.
	revoked := append([]trust.MemberSpec(nil), specs...)
	revoked[0].Status = trust.StatusRevoked
	w.Publish(t, revoked)
	store.Reload()
	_, err := auth.Authenticate(mint(t, key, eddsa, with(func(c *claims) { c.jti = "j10" })))
	var ae *trust.AuthError
	if !errors.As(err, &ae) || ae.Code != trust.AuthRevoked {
		t.Fatalf("revoked member: got %v", err)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signRaw signs a payload written by hand, for claims of the wrong type.
func signRaw(t *testing.T, key jwk.Key, payload string) []byte {
	t.Helper()
	kid, _ := key.KeyID()
	hdr := jws.NewHeaders()
	hdr.Set(jws.KeyIDKey, kid)
	signed, err := jws.Sign([]byte(payload), jws.WithKey(jwa.EdDSA(), key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// pad writes the token's signature with base64 padding: the same bytes,
// another spelling.
func pad(tok []byte) []byte {
	parts := strings.Split(string(tok), ".")
	for len(parts[2])%4 != 0 {
		parts[2] += "="
	}
	return []byte(strings.Join(parts, "."))
}

// strayBits changes the unused low bits of the signature's last character:
// lenient decoders read the same bytes.
func strayBits(tok []byte) []byte {
	parts := strings.Split(string(tok), ".")
	sig := []byte(parts[2])
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, sig[len(sig)-1])
	sig[len(sig)-1] = alphabet[i|1] // an Ed25519 signature's last char carries 2 unused bits
	if sig[len(sig)-1] == parts[2][len(sig)-1] {
		sig[len(sig)-1] = alphabet[i|2]
	}
	parts[2] = string(sig)
	return []byte(strings.Join(parts, "."))
}

// tamper flips a character in the middle of the payload.
func tamper(tok []byte) []byte {
	out := append([]byte(nil), tok...)
	i := len(out) / 2
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

// FuzzAuthenticate: arbitrary bearer tokens never panic and never pass.
func FuzzAuthenticate(f *testing.F) {
	w := trusttest.New(f, specs)
	auth := trust.NewAuthenticator(w.Store(f), gw, nil)
	key, _ := w.Keys.Current("dgfip")
	tok, _ := trust.MintToken(key, "dgfip", gw, time.Minute, time.Now())
	f.Add(tok)
	f.Add([]byte("eyJhbGciOiJub25lIn0.e30."))
	f.Fuzz(func(t *testing.T, b []byte) {
		if string(b) == string(tok) {
			return
		}
		if _, err := auth.Authenticate(b); err == nil {
			t.Fatalf("%q authenticated", b)
		}
	})
}
