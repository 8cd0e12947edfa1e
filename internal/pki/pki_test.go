package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The data directory's CA is made once and loaded after: a second start,
// or another part asking for it, gets the same CA, and its key is the
// owner's alone.
func TestEnsureCAIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "tls", "ca.crt"), filepath.Join(dir, "tls", "ca.key")
	now := time.Now()
	first, err := EnsureCA(crt, key, "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := EnsureCA(crt, key, "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Cert.Equal(second.Cert) {
		t.Fatal("a second EnsureCA made a new CA")
	}
	for path, want := range map[string]os.FileMode{key: 0o600, crt: 0o644, filepath.Dir(key): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, want)
		}
	}
	if err := os.Remove(crt); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureCA(crt, key, "test CA", now); err == nil {
		t.Fatal("a key without its certificate: a new CA was made over it")
	}
}

// A server certificate is kept while it names every host and has time
// left, and issued again otherwise; the one served verifies for each
// host against the CA.
func TestEnsureServer(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, "gateway.crt"), filepath.Join(dir, "gateway.key")
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	first, err := ca.EnsureServer(crt, key, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, h := range hosts {
		if _, err := first.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: h}); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	for _, tc := range []struct {
		name  string
		hosts []string
		now   time.Time
		same  bool
	}{
		{"same hosts", hosts, now, true},
		{"fewer hosts", hosts[:1], now, true},
		{"a new host", append(hosts, "gateway.example"), now, false},
		{"near its end", hosts, now.Add(LeafValidity - renewBefore/2), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := first.Write(crt, key); err != nil {
				t.Fatal(err)
			}
			got, err := ca.EnsureServer(crt, key, tc.hosts, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if got.Cert.Equal(first.Cert) != tc.same {
				t.Fatalf("kept the certificate: %v, want %v", !tc.same, tc.same)
			}
			if _, err := tls.LoadX509KeyPair(crt, key); err != nil {
				t.Fatalf("the files written are not a pair: %v", err)
			}
		})
	}
}

// A renewal on the same key keeps the key thumbprint and changes the
// certificate's.
func TestThumbprints(t *testing.T) {
	ca, err := NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ca.IssueClient("dgfip", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := ca.IssueClient("dgfip", a.Key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if Thumbprint(a.Cert) == Thumbprint(renewed.Cert) || KeyThumbprint(a.Cert) != KeyThumbprint(renewed.Cert) {
		t.Fatal("a renewal on the same key: want a new x5t#S256 and the same key thumbprint")
	}
	if len(Thumbprint(a.Cert)) != 43 {
		t.Fatalf("x5t#S256 %q: want 43 base64url characters", Thumbprint(a.Cert))
	}
}
