package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/pki"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// mtls is a gateway served over real TLS by the tls section's own code
// (gateway.TLSConfig), with members whose registry entries list client
// certificates of a CA made for the test: dgfip by certificate, cnam by
// key, cnil none.
type mtls struct {
	world *trusttest.World
	trail *audit.Trail
	srv   *httptest.Server
	dir   string // the PEM files: ca.crt, <name>.crt, <name>.key
	roots *x509.CertPool
	certs map[string]*pki.Leaf
}

// mtlsCerts are the client certificates the fixture issues: each member's
// own, cnam's renewed on the same key, and one of the right CA that no
// member lists.
var mtlsCerts = []string{"dgfip", "cnam", "cnam-renewed", "unlisted"}

func newMTLS(t *testing.T, clientAuth string) *mtls {
	t.Helper()
	now := time.Now()
	f := &mtls{dir: t.TempDir(), certs: map[string]*pki.Leaf{}}
	ca, err := pki.EnsureCA(filepath.Join(f.dir, "ca.crt"), filepath.Join(f.dir, "ca.key"), "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	f.roots = x509.NewCertPool()
	f.roots.AddCert(ca.Cert)
	if _, err := ca.EnsureServer(filepath.Join(f.dir, "gateway.crt"), filepath.Join(f.dir, "gateway.key"), []string{"127.0.0.1"}, now); err != nil {
		t.Fatal(err)
	}
	for _, name := range mtlsCerts {
		var l *pki.Leaf
		if name == "cnam-renewed" {
			l, err = ca.IssueClient("cnam", f.certs["cnam"].Key, now)
		} else {
			l, err = ca.IssueClient(name, nil, now)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Write(filepath.Join(f.dir, name+".crt"), filepath.Join(f.dir, name+".key")); err != nil {
			t.Fatal(err)
		}
		f.certs[name] = l
	}
	members := []trust.MemberSpec{
		{ID: "dgfip", Name: "DGFiP", Roles: []string{"reader"}, Certificates: []trust.Certificate{{X5TS256: pki.Thumbprint(f.certs["dgfip"].Cert)}}},
		{ID: "cnam", Name: "CNAM", Roles: []string{"reader"}, Certificates: []trust.Certificate{{SPKIS256: pki.KeyThumbprint(f.certs["cnam"].Cert)}}},
		{ID: "cnil", Name: "CNIL", Roles: []string{"auditor"}},
		{ID: gatewayID, Name: "Passerelle gateway", Roles: []string{"gateway"}},
	}
	f.world = trusttest.New(t, members)
	store := f.world.Store(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := bustest.Embedded(t).Client(t)
	log, trail, pub, _ := startAudit(t, ctx, client, f.world.Signer(t, gatewayID), store, nil, "")
	f.trail = trail
	auth := trust.NewAuthenticator(store, gatewayID, nil)
	auth.ConsultLog(trail.TokenSeen)
	guard := &gateway.Guard{Auth: auth, Audit: log, Trail: trail, Log: slog.New(slog.DiscardHandler), Now: time.Now}
	h := gateway.NewHandler(gateway.Options{Metrics: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler), Trust: store,
		Audit: &gateway.Audit{Guard: guard, Trail: trail, Publisher: pub, Trust: store}})
	cfg := gateway.TLSConfig{CertFile: filepath.Join(f.dir, "gateway.crt"), KeyFile: filepath.Join(f.dir, "gateway.key"), ClientAuth: clientAuth}
	if clientAuth != gateway.ClientAuthNone {
		cfg.ClientCAFile = filepath.Join(f.dir, "ca.crt")
	}
	tc, err := cfg.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.TLS = tc
	f.srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelWarn) // the handshakes refused on purpose
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	// One event in the log, so that a checkpoint can be signed: the first
	// request's own event is not yet read when it asks for one.
	if _, _, err := f.get(f.client("dgfip", 0), f.token(t, "dgfip", "")); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, trail)
	return f
}

// client trusts the test CA, presents cert ("" for none) and speaks TLS
// up to maxVersion (0 for Go's newest).
func (f *mtls) client(cert string, maxVersion uint16) *http.Client {
	tc := &tls.Config{RootCAs: f.roots, MaxVersion: maxVersion}
	if maxVersion != 0 && maxVersion < tls.VersionTLS12 {
		tc.MinVersion = maxVersion
	}
	if cert != "" {
		l := f.certs[cert]
		tc.Certificates = []tls.Certificate{{Certificate: [][]byte{l.Cert.Raw}, PrivateKey: l.Key, Leaf: l.Cert}}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 30 * time.Second}
}

// token mints a token of member, bound to the certificate named bound
// ("" for an unbound token).
func (f *mtls) token(t *testing.T, member, bound string) string {
	t.Helper()
	key, err := f.world.Keys.Current(member)
	if err != nil {
		t.Fatal(err)
	}
	x5t := ""
	if bound != "" {
		x5t = pki.Thumbprint(f.certs[bound].Cert)
	}
	tok, err := trust.MintBoundToken(key, member, gatewayID, time.Minute, time.Now(), x5t)
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

// get asks for the latest checkpoint, a route any member may call; err is
// a transport error (a handshake refused).
func (f *mtls) get(hc *http.Client, token string) (int, string, error) {
	req, _ := http.NewRequest("GET", f.srv.URL+"/v1/audit/checkpoint", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p gateway.Problem
	if json.Unmarshal(b, &p) == nil && p.Code != "" {
		return resp.StatusCode, p.Code, nil
	}
	return resp.StatusCode, "", nil
}

// Under client_auth optional, over real TLS: a presented certificate
// must be listed for the token's member (by certificate or by key), a
// bound token must come over its certificate, a member enrolled with
// certificates must present one and a member listing none may call
// without; every refusal is a 401 problem with its code, and audited with
// the certificate presented.
func TestMutualTLSOptional(t *testing.T) {
	f := newMTLS(t, gateway.ClientAuthOptional)
	for _, tc := range []struct {
		name, member, cert, bound string
		status                    int
		code                      string
	}{
		{"its certificate", "dgfip", "dgfip", "", 200, ""},
		{"an enrolled member without its certificate", "dgfip", "", "", 401, trust.CertRequired},
		{"a member listing none, without one", "cnil", "", "", 200, ""},
		{"listed by key", "cnam", "cnam", "", 200, ""},
		{"renewed on the listed key", "cnam", "cnam-renewed", "", 200, ""},
		{"bound token over its certificate", "dgfip", "dgfip", "dgfip", 200, ""},
		{"another member's certificate", "dgfip", "cnam", "", 401, trust.CertMismatch},
		{"a certificate no member lists", "dgfip", "unlisted", "", 401, trust.CertMismatch},
		{"a certificate for a member listing none", "cnil", "dgfip", "", 401, trust.CertMismatch},
		{"bound token without a certificate", "dgfip", "", "dgfip", 401, trust.CertRequired},
		{"bound token over another certificate of the member", "cnam", "cnam-renewed", "cnam", 401, trust.CertNotBound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, err := f.get(f.client(tc.cert, 0), f.token(t, tc.member, tc.bound))
			if err != nil || status != tc.status || code != tc.code {
				t.Fatalf("%d %q %v, want %d %q", status, code, err, tc.status, tc.code)
			}
		})
	}

	t.Run("refusals are audited with the certificate", func(t *testing.T) {
		waitSettled(t, f.trail)
		evs, _, err := f.trail.Events(audit.Filter{Kinds: []string{audit.KindRefusal}, After: -1})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, ev := range evs {
			got[ev.Code]++
			if ev.Code == trust.CertMismatch && ev.Query["certificate"] == "" {
				t.Errorf("event %s: no certificate named", ev.ID)
			}
			if ev.Token == "" || ev.Query["route"] != "GET /v1/audit/checkpoint" {
				t.Errorf("event %s: token %q, route %q", ev.ID, ev.Token, ev.Query["route"])
			}
		}
		want := map[string]int{trust.CertMismatch: 3, trust.CertRequired: 2, trust.CertNotBound: 1}
		for code, n := range want {
			if got[code] != n {
				t.Errorf("%d refusals %s audited, want %d (all: %v)", got[code], code, n, got)
			}
		}
	})

	t.Run("a certificate of another CA fails the handshake", func(t *testing.T) {
		other, _ := pki.NewCA("another CA", time.Now())
		l, _ := other.IssueClient("dgfip", nil, time.Now())
		// Sent whatever CAs the server names: Go's client would otherwise
		// keep a certificate the server does not accept to itself.
		cert := &tls.Certificate{Certificate: [][]byte{l.Cert.Raw}, PrivateKey: l.Key}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.roots,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }}}}
		if status, code, err := f.get(hc, f.token(t, "dgfip", "")); err == nil {
			t.Fatalf("served: %d %s", status, code)
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		if status, _, err := f.get(f.client("", tls.VersionTLS11), ""); err == nil {
			t.Fatalf("a TLS 1.1 client was answered %d", status)
		}
	})

	t.Run("TLS 1.3 is negotiated", func(t *testing.T) {
		resp, err := f.client("dgfip", 0).Get(f.srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
			t.Fatalf("negotiated %v, want TLS 1.3", resp.TLS)
		}
	})

	t.Run("plain HTTP to the HTTPS port is not served", func(t *testing.T) {
		resp, err := http.Get(strings.Replace(f.srv.URL, "https://", "http://", 1) + "/healthz")
		if err != nil {
			return // refused outright: fine
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(b), `"status"`) {
			t.Fatalf("plain HTTP answered %d %s", resp.StatusCode, b)
		}
	})
}

// Under client_auth required, a connection without a certificate of the
// client CA is refused at the handshake, public routes included; with
// none, a bound token cannot be honoured and is refused.
func TestMutualTLSRequiredAndNone(t *testing.T) {
	t.Run("required", func(t *testing.T) {
		f := newMTLS(t, gateway.ClientAuthRequired)
		if status, _, err := f.get(f.client("", 0), f.token(t, "dgfip", "")); err == nil {
			t.Fatalf("served without a certificate: %d", status)
		}
		if status, code, err := f.get(f.client("dgfip", 0), f.token(t, "dgfip", "dgfip")); err != nil || status != 200 {
			t.Fatalf("its certificate: %d %s %v", status, code, err)
		}
		if status, code, err := f.get(f.client("unlisted", 0), f.token(t, "cnil", "")); err != nil || code != trust.CertMismatch {
			t.Fatalf("a member listing none, with a certificate: %d %s %v, want %s", status, code, err, trust.CertMismatch)
		}
	})
	t.Run("none", func(t *testing.T) {
		f := newMTLS(t, gateway.ClientAuthNone)
		if status, code, err := f.get(f.client("", 0), f.token(t, "cnil", "")); err != nil || status != 200 {
			t.Fatalf("unbound token of a member listing no certificate: %d %s %v", status, code, err)
		}
		// A gateway that cannot see certificates cannot serve a member
		// enrolled with one: its bearer tokens alone prove nothing.
		if status, code, err := f.get(f.client("", 0), f.token(t, "dgfip", "")); err != nil || code != trust.CertRequired {
			t.Fatalf("unbound token of an enrolled member: %d %s %v, want %s", status, code, err, trust.CertRequired)
		}
		if status, code, err := f.get(f.client("dgfip", 0), f.token(t, "dgfip", "dgfip")); err != nil || code != trust.CertRequired {
			t.Fatalf("bound token: %d %s %v, want %s (the server asks for no certificate)", status, code, err, trust.CertRequired)
		}
	})
}

// The tls section names the field at fault, and a file that does not
// hold what it should fails at start, naming it.
func TestTLSConfigNamesTheField(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not PEM"), 0o600)
	for _, tc := range []struct {
		name string
		cfg  gateway.TLSConfig
		want string
	}{
		{"no certificate", gateway.TLSConfig{KeyFile: "k"}, "tls.cert_file: required"},
		{"no key", gateway.TLSConfig{CertFile: "c"}, "tls.key_file: required"},
		{"unknown mode", gateway.TLSConfig{CertFile: "c", KeyFile: "k", ClientAuth: "sometimes"}, `tls.client_auth: "sometimes"`},
		{"optional without a CA", gateway.TLSConfig{CertFile: "c", KeyFile: "k", ClientAuth: "optional"}, "tls.client_ca_file: required"},
		{"a CA with none", gateway.TLSConfig{CertFile: "c", KeyFile: "k", ClientCAFile: "ca"}, "tls.client_auth: none, yet tls.client_ca_file"},
		{"unreadable pair", gateway.TLSConfig{CertFile: junk, KeyFile: junk}, "tls.cert_file, tls.key_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.ServerConfig()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
	// A client CA file without a certificate in it.
	ca, _ := pki.EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "test CA", time.Now())
	ca.EnsureServer(filepath.Join(dir, "s.crt"), filepath.Join(dir, "s.key"), []string{"127.0.0.1"}, time.Now())
	cfg := gateway.TLSConfig{CertFile: filepath.Join(dir, "s.crt"), KeyFile: filepath.Join(dir, "s.key"), ClientCAFile: junk, ClientAuth: "required"}
	if _, err := cfg.ServerConfig(); err == nil || !strings.Contains(err.Error(), "tls.client_ca_file") {
		t.Fatalf("got %v, want an error naming tls.client_ca_file", err)
	}
}
