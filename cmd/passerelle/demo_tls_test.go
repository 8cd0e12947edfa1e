package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/pki"
)

// The demo's server certificate names what a client may reach it by.
func TestServerHosts(t *testing.T) {
	for _, tc := range []struct {
		listen string
		want   []string // beyond the loopback names
	}{
		{"127.0.0.1:8080", nil},
		{"localhost:8080", nil},
		{"[::1]:8080", nil},
		{"10.1.2.3:8443", []string{"10.1.2.3"}},
		{"gateway.example:8443", []string{"gateway.example"}},
	} {
		t.Run(tc.listen, func(t *testing.T) {
			got := serverHosts(tc.listen)
			if want := append([]string{"127.0.0.1", "::1", "localhost"}, tc.want...); !slices.Equal(got, want) {
				t.Fatalf("%v, want %v", got, want)
			}
		})
	}
	if got := serverHosts("0.0.0.0:8080"); len(got) < 3 {
		t.Fatalf("every interface: %v", got)
	}
}

// token --cert binds the token to the certificate: its cnf is the
// certificate's x5t#S256.
func TestTokenBoundToACertificate(t *testing.T) {
	data := t.TempDir()
	d := datadir.Dir(data)
	if err := bootstrap(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.EnsureCA(d.CACert(), d.CAKey(), demoCAName, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := ca.IssueClient("cnaf", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	crt := filepath.Join(t.TempDir(), "cnaf.crt")
	if err := l.Write(crt, crt+".key"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if code := run(context.Background(), []string{"token", "--data", data, "--member", "cnaf", "--cert", crt}, &out, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	parts := strings.Split(strings.TrimSpace(out.String()), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Cnf map[string]string `json:"cnf"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Cnf["x5t#S256"] != pki.Thumbprint(l.Cert) {
		t.Fatalf("cnf %v (%v), want x5t#S256 %s", claims.Cnf, err, pki.Thumbprint(l.Cert))
	}
}
