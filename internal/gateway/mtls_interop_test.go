package gateway_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/interop"
	"github.com/passerelle-bus/passerelle/internal/pki"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// curl (OpenSSL underneath), given the CA and a member's certificate and
// key as PEM files, calls the gateway over mutual TLS with a token bound
// to that certificate; with another member's certificate it is refused,
// certificate-mismatch.
func TestCurlCallsOverMutualTLS(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl not found")
		}
		t.Skip("curl not found: apt-get install curl")
	}
	f := newMTLS(t, gateway.ClientAuthOptional)
	for _, tc := range []struct {
		name, cert, status, code string
	}{
		{"its certificate", "dgfip", "200", ""},
		{"another member's certificate", "cnam", "401", trust.CertMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := filepath.Join(t.TempDir(), "body")
			out, err := exec.Command(curl, "-sS", "-o", body, "-w", "%{http_code}",
				"--cacert", filepath.Join(f.dir, "ca.crt"),
				"--cert", filepath.Join(f.dir, tc.cert+".crt"), "--key", filepath.Join(f.dir, tc.cert+".key"),
				"-H", "Authorization: Bearer "+f.token(t, "dgfip", "dgfip"),
				f.srv.URL+"/v1/audit/checkpoint").Output()
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, interop.Stderr(err))
			}
			b, _ := os.ReadFile(body)
			var p gateway.Problem
			json.Unmarshal(b, &p)
			if string(out) != tc.status || p.Code != tc.code {
				t.Fatalf("curl: %s %s, want %s %s", out, b, tc.status, tc.code)
			}
		})
	}
}

// Python, with requests over ssl and jwcrypto, mints its own EdDSA token
// bound to its certificate (cnf x5t#S256 computed from the PEM by
// hashlib, not by our code) and calls the gateway with the certificate:
// served; the same kind of token without the certificate: refused,
// certificate-required.
func TestPythonMintsABoundTokenAndCalls(t *testing.T) {
	py := interop.Python(t, "requests, jwcrypto.jwt")
	f := newMTLS(t, gateway.ClientAuthOptional)
	key, err := f.world.Keys.Current("dgfip")
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := key.KeyID()
	out, err := exec.Command(py, "-c", pythonBoundCall, f.srv.URL+"/v1/audit/checkpoint", filepath.Join(f.dir, "ca.crt"),
		filepath.Join(f.dir, "dgfip.crt"), filepath.Join(f.dir, "dgfip.key"),
		filepath.Join(string(f.world.Keys), "dgfip", kid+".jwk"), "dgfip", gatewayID).Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, interop.Stderr(err))
	}
	var got map[string][]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for name, want := range map[string][]any{
		"with_cert":    {200.0, ""},
		"without_cert": {401.0, trust.CertRequired},
	} {
		if g := got[name]; len(g) != 2 || g[0] != want[0] || g[1] != want[1] {
			t.Errorf("%s: %v, want %v", name, g, want)
		}
	}
	// hashlib's thumbprint of the PEM is ours.
	if x5t, _ := got["x5t"][0].(string); x5t != pki.Thumbprint(f.certs["dgfip"].Cert) {
		t.Errorf("Python's x5t#S256 %s, ours %s", x5t, pki.Thumbprint(f.certs["dgfip"].Cert))
	}
}

const pythonBoundCall = `
import base64, hashlib, json, os, ssl, sys, time
import requests
from jwcrypto import jwk, jwt

url, ca, crt, key, jwkfile, member, aud = sys.argv[1:8]
der = ssl.PEM_cert_to_DER_cert(open(crt).read())
x5t = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
k = jwk.JWK.from_json(open(jwkfile).read())

def token():
    now = int(time.time())
    jti = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
    t = jwt.JWT(header={"alg": "EdDSA", "kid": k.key_id},
                claims={"iss": member, "sub": member, "aud": aud, "iat": now, "exp": now + 60, "jti": jti,
                        "cnf": {"x5t#S256": x5t}})
    t.make_signed_token(k)
    return t.serialize()

def call(**kw):
    r = requests.get(url, headers={"Authorization": "Bearer " + token()}, verify=ca, timeout=30, **kw)
    code = r.json().get("code", "") if r.headers.get("Content-Type", "").startswith("application/problem+json") else ""
    return [r.status_code, code]

print(json.dumps({"with_cert": call(cert=(crt, key)), "without_cert": call(), "x5t": [x5t]}))
`
