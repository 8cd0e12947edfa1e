package trust_test

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/passerelle-bus/passerelle/internal/pki"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// The registry's certificates field: each entry one thumbprint, of a
// certificate or of its key, never listed for two members; a registry
// without the field, as written before it existed, parses as before.
func TestRegistryCertificates(t *testing.T) {
	w := trusttest.New(t, nil)
	noKeys := func(string) (jwk.Set, error) { return jwk.NewSet(), nil }
	const tp = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU" // 43 characters, 32 bytes
	for _, tc := range []struct {
		name  string
		specs []trust.MemberSpec
		want  string // "" to parse
	}{
		{"none", []trust.MemberSpec{{ID: "x", Name: "X"}}, ""},
		{"by certificate and by key", []trust.MemberSpec{{ID: "x", Name: "X", Certificates: []trust.Certificate{{X5TS256: tp}, {SPKIS256: tp}}}}, ""},
		{"both in one entry", []trust.MemberSpec{{ID: "x", Name: "X", Certificates: []trust.Certificate{{X5TS256: tp, SPKIS256: tp}}}}, "members[0].certificates[0]: both"},
		{"empty entry", []trust.MemberSpec{{ID: "x", Name: "X", Certificates: []trust.Certificate{{}}}}, "members[0].certificates[0]: x5t#S256 or spki#S256: required"},
		{"padded", []trust.MemberSpec{{ID: "x", Name: "X", Certificates: []trust.Certificate{{X5TS256: tp + "="}}}}, "members[0].certificates[0]: x5t#S256"},
		{"short", []trust.MemberSpec{{ID: "x", Name: "X", Certificates: []trust.Certificate{{SPKIS256: tp[:40]}}}}, "members[0].certificates[0]: spki#S256"},
		{"two members", []trust.MemberSpec{
			{ID: "x", Name: "X", Certificates: []trust.Certificate{{X5TS256: tp}}},
			{ID: "y", Name: "Y", Certificates: []trust.Certificate{{X5TS256: tp}}},
		}, "members[1].certificates[0]: x5t#S256:" + tp + " already listed for x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := trust.Build(9, time.Now(), tc.specs, noKeys)
			if err != nil {
				t.Fatal(err)
			}
			r, err := trust.Parse(doc, w.SignRaw(t, doc), w.Anchor)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("%v\n%s", err, doc)
				}
				m, _ := r.Member("x")
				if got := m.Certificates(); len(got) != len(tc.specs[0].Certificates) {
					t.Fatalf("certificates %v, want %v", got, tc.specs[0].Certificates)
				}
				return
			}
			if !errors.Is(err, trust.ErrBadRegistry) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBadRegistry naming %q", err, tc.want)
			}
		})
	}
	// A registry document as written before certificates existed.
	old := []byte("serial: 3\nissued_at: 2026-01-01T00:00:00Z\nmembers:\n  - id: x\n    name: X\n    roles: [reader]\n    keys: []\n")
	if _, err := trust.Parse(old, w.SignRaw(t, old), w.Anchor); err != nil {
		t.Fatalf("an older registry no longer parses: %v", err)
	}
}

// A caller is held to its connection's certificate: one listed for it,
// by certificate or by key, and the one its token's cnf names.
func TestCheckCertificate(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(cn string, key crypto.Signer) *pki.Leaf {
		t.Helper()
		l, err := ca.IssueClient(cn, key, now)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	dgfipCert, cnamCert, unlisted := issue("dgfip", nil), issue("cnam", nil), issue("dgfip", nil)
	renewed := issue("cnam", cnamCert.Key) // cnam is listed by key
	members := []trust.MemberSpec{
		{ID: "dgfip", Name: "DGFiP", Roles: []string{"reader"}, Certificates: []trust.Certificate{{X5TS256: pki.Thumbprint(dgfipCert.Cert)}}},
		{ID: "cnam", Name: "CNAM", Roles: []string{"reader"}, Certificates: []trust.Certificate{{SPKIS256: pki.KeyThumbprint(cnamCert.Cert)}}},
		{ID: "cnil", Name: "CNIL", Roles: []string{"auditor"}},
	}
	w := trusttest.New(t, members)
	auth := trust.NewAuthenticator(w.Store(t), gw, nil)
	for _, tc := range []struct {
		name, member string
		cnf          *pki.Leaf
		cert         *pki.Leaf
		code         string // "" to pass
	}{
		{"listed certificate", "dgfip", nil, dgfipCert, ""},
		{"listed key", "cnam", nil, cnamCert, ""},
		{"renewed on the listed key", "cnam", nil, renewed, ""},
		{"an enrolled member without its certificate", "dgfip", nil, nil, trust.CertRequired},
		{"no certificate listed, none presented", "cnil", nil, nil, ""},
		{"another member's certificate", "dgfip", nil, cnamCert, trust.CertMismatch},
		{"an unlisted certificate of the same CA", "dgfip", nil, unlisted, trust.CertMismatch},
		{"a certificate for a member listing none", "cnil", nil, dgfipCert, trust.CertMismatch},
		{"bound token over its certificate", "dgfip", dgfipCert, dgfipCert, ""},
		{"bound token over a renewed certificate", "cnam", cnamCert, renewed, trust.CertNotBound},
		{"bound token without a certificate", "dgfip", dgfipCert, nil, trust.CertRequired},
		{"bound to another member's certificate", "dgfip", cnamCert, dgfipCert, trust.CertNotBound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, _ := w.Keys.Current(tc.member)
			x5t := ""
			if tc.cnf != nil {
				x5t = pki.Thumbprint(tc.cnf.Cert)
			}
			tok, err := trust.MintBoundToken(key, tc.member, gw, time.Minute, time.Now(), x5t)
			if err != nil {
				t.Fatal(err)
			}
			c, err := auth.Caller(tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Confirmation != x5t {
				t.Fatalf("confirmation %q, want %q", c.Confirmation, x5t)
			}
			var cert *x509.Certificate
			if tc.cert != nil {
				cert = tc.cert.Cert
			}
			err = c.CheckCertificate(cert)
			var ae *trust.AuthError
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && (!errors.As(err, &ae) || ae.Code != tc.code):
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// A cnf the gateway cannot check is refused, not ignored.
func TestCnfIsReadStrictly(t *testing.T) {
	w := trusttest.New(t, specs)
	auth := trust.NewAuthenticator(w.Store(t), gw, nil)
	key, _ := w.Keys.Current("dgfip")
	for i, cnf := range []any{
		"a string",
		map[string]any{"jkt": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"},
		map[string]any{"x5t#S256": 42},
		map[string]any{"x5t#S256": "not-a-hash"},
		nil,
	} {
		now := time.Now()
		tok, _ := jwt.NewBuilder().Issuer("dgfip").Subject("dgfip").Audience([]string{gw}).IssuedAt(now).Expiration(now.Add(time.Minute)).
			JwtID(strings.Repeat("j", i+1)).Claim("cnf", cnf).Build()
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), key))
		if err != nil {
			t.Fatal(err)
		}
		var ae *trust.AuthError
		if _, err := auth.Caller(signed); !errors.As(err, &ae) || ae.Code != trust.AuthMalformed {
			t.Errorf("cnf %v: got %v, want %s", cnf, err, trust.AuthMalformed)
		}
	}
}

// FuzzCnf: whatever a member signs as its cnf claim, the gateway never
// panics, and accepts only an x5t#S256 that is a SHA-256.
func FuzzCnf(f *testing.F) {
	w := trusttest.New(f, specs)
	auth := trust.NewAuthenticator(w.Store(f), gw, nil)
	key, _ := w.Keys.Current("dgfip")
	for _, seed := range []string{`{"x5t#S256":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}`, `{}`, `null`, `[1]`, `{"x5t#S256":null}`} {
		f.Add([]byte(seed))
	}
	n := 0
	f.Fuzz(func(t *testing.T, cnf []byte) {
		if !json.Valid(cnf) {
			return
		}
		n++
		now := time.Now()
		tok, err := jwt.NewBuilder().Issuer("dgfip").Subject("dgfip").Audience([]string{gw}).IssuedAt(now).Expiration(now.Add(time.Minute)).
			JwtID(fmt.Sprint("fuzz-", n)).Claim("cnf", json.RawMessage(cnf)).Build()
		if err != nil {
			return
		}
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), key))
		if err != nil {
			return
		}
		c, err := auth.Caller(signed)
		if err != nil {
			return
		}
		if b, derr := base64.RawURLEncoding.Strict().DecodeString(c.Confirmation); c.Confirmation != "" && (derr != nil || len(b) != 32) {
			t.Fatalf("cnf %s accepted as %q", cnf, c.Confirmation)
		}
	})
}

// A bound token stolen and sent without its certificate is refused before
// it is spent: its owner's own call with it, over the certificate, is
// still served, not refused as a replay.
func TestACertificateRefusalDoesNotSpendTheToken(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueClient("dgfip", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	w := trusttest.New(t, []trust.MemberSpec{{ID: "dgfip", Name: "DGFiP", Roles: []string{"reader"},
		Certificates: []trust.Certificate{{X5TS256: pki.Thumbprint(cert.Cert)}}}})
	auth := trust.NewAuthenticator(w.Store(t), gw, nil)
	key, _ := w.Keys.Current("dgfip")
	tok, err := trust.MintBoundToken(key, "dgfip", gw, time.Minute, now, pki.Thumbprint(cert.Cert))
	if err != nil {
		t.Fatal(err)
	}
	var ae *trust.AuthError
	if _, err := auth.CallerOver(tok, trust.Connection{}); !errors.As(err, &ae) || ae.Code != trust.CertRequired {
		t.Fatalf("without its certificate: %v", err)
	}
	if _, err := auth.CallerOver(tok, trust.Connection{Cert: cert.Cert}); err != nil {
		t.Fatalf("its owner, after the theft: %v", err)
	}
	if _, err := auth.CallerOver(tok, trust.Connection{Cert: cert.Cert}); !errors.As(err, &ae) || ae.Code != trust.AuthReplayed {
		t.Fatalf("used twice: %v", err)
	}
}
