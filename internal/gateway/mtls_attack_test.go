package gateway_test

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

var attackJTI atomic.Int64

// tokenWithCnf mints a token of member whose cnf claim is cnf as given,
// whatever it holds: the member's own software signing it, and the
// gateway left to read it.
func (f *mtls) tokenWithCnf(t *testing.T, member string, cnf any) string {
	t.Helper()
	key, err := f.world.Keys.Current(member)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer(member).Subject(member).Audience([]string{gatewayID}).IssuedAt(now).
		Expiration(now.Add(time.Minute)).JwtID(fmt.Sprint("attack-", attackJTI.Add(1))).Claim("cnf", cnf).Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// A bound token's cnf must be the certificate's x5t#S256 spelt exactly as
// RFC 8705 spells it: the same SHA-256 in another encoding is no binding
// the gateway accepts, and members beside it bind nothing away.
func TestMutualTLSAttackCnfSpellings(t *testing.T) {
	f := newMTLS(t, gateway.ClientAuthOptional)
	sum := sha256.Sum256(f.certs["dgfip"].Cert.Raw)
	right := base64.RawURLEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		name, cert string
		cnf        any
		status     int
		code       string
	}{
		{"padded base64url", "dgfip", map[string]any{"x5t#S256": base64.URLEncoding.EncodeToString(sum[:])}, 401, trust.AuthMalformed},
		{"standard base64", "dgfip", map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(sum[:])}, 401, trust.AuthMalformed},
		{"hex", "dgfip", map[string]any{"x5t#S256": hex.EncodeToString(sum[:])}, 401, trust.AuthMalformed},
		{"upper-case hex", "dgfip", map[string]any{"x5t#S256": strings.ToUpper(hex.EncodeToString(sum[:]))}, 401, trust.AuthMalformed},
		{"upper-case member name", "dgfip", map[string]any{"X5T#S256": right}, 401, trust.AuthMalformed},
		{"x5t (SHA-1 member)", "dgfip", map[string]any{"x5t": right}, 401, trust.AuthMalformed},
		{"an array", "dgfip", map[string]any{"x5t#S256": []string{right}}, 401, trust.AuthMalformed},
		{"extra members, its certificate", "dgfip", map[string]any{"x5t#S256": right, "jkt": right, "jwk": map[string]any{"kty": "OKP"}}, 200, ""},
		{"extra members, no certificate", "", map[string]any{"x5t#S256": right, "jkt": right}, 401, trust.CertRequired},
		{"extra members, another certificate of the member's CA", "unlisted", map[string]any{"x5t#S256": right, "jkt": right}, 401, trust.CertMismatch},
		{"right, over no certificate", "", map[string]any{"x5t#S256": right}, 401, trust.CertRequired},
		{"an empty cnf object", "", map[string]any{}, 401, trust.AuthMalformed},
		{"cnf null", "", nil, 401, trust.AuthMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, err := f.get(f.client(tc.cert, 0), f.tokenWithCnf(t, "dgfip", tc.cnf))
			if err != nil || status != tc.status || code != tc.code {
				t.Fatalf("%d %q %v, want %d %q", status, code, err, tc.status, tc.code)
			}
		})
	}
}

// HTTP/2 multiplexes requests over one connection, and a client may reuse
// one connection for several tokens: the certificate checked is the
// connection's, for every request on it, so another member's token over
// dgfip's connection is refused even after dgfip's own was served there.
func TestMutualTLSAttackConnectionReuse(t *testing.T) {
	f := newMTLS(t, gateway.ClientAuthOptional)
	// The same handler and TLS settings, served with HTTP/2 as
	// http.Server.ServeTLS does in production (httptest needs asking).
	h2 := httptest.NewUnstartedServer(f.srv.Config.Handler)
	h2.TLS = f.srv.TLS.Clone()
	h2.TLS.NextProtos = nil // f.srv's says http/1.1
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	hc := f.client("dgfip", 0)
	hc.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	var proto []int
	for i, tc := range []struct {
		member, bound string
		status        int
		code          string
	}{
		{"dgfip", "dgfip", 200, ""},
		{"cnam", "", 401, trust.CertMismatch},
		{"cnam", "cnam", 401, trust.CertMismatch},
		{"cnil", "", 401, trust.CertMismatch},
		{"dgfip", "", 200, ""},
	} {
		req, _ := http.NewRequest("GET", h2.URL+"/v1/audit/checkpoint", nil)
		req.Header.Set("Authorization", "Bearer "+f.token(t, tc.member, tc.bound))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		proto = append(proto, resp.ProtoMajor)
		if resp.StatusCode != tc.status {
			t.Fatalf("request %d (%s over dgfip's connection): %d, want %d", i, tc.member, resp.StatusCode, tc.status)
		}
	}
	for i, p := range proto {
		if p != 2 {
			t.Fatalf("request %d served over HTTP/%d, not 2", i, p)
		}
	}
}

// The CA's own certificate, presented with the CA's key (an attacker who
// stole it could issue anything, but might try the simplest first), is a
// certificate no member lists.
func TestMutualTLSAttackCACertificateAsClient(t *testing.T) {
	f := newMTLS(t, gateway.ClientAuthOptional)
	pair, err := tls.LoadX509KeyPair(filepath.Join(f.dir, "ca.crt"), filepath.Join(f.dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }}}}
	status, code, err := f.get(hc, f.token(t, "cnil", ""))
	if err == nil && (status != 401 || code != trust.CertMismatch) {
		t.Fatalf("the CA's certificate as a client's: %d %q, want 401 %s or a refused handshake", status, code, trust.CertMismatch)
	}
}
