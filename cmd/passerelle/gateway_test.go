package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

// The standalone gateway, configured by a file, on a data directory the
// demo's bootstrap prepared, with its view and its audit trail on disk: it
// becomes ready and serves the register; restarted, it resumes its trail
// from the index and still answers an auditor for what it traced before.
func TestGatewayCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tg := bustest.Embedded(t)
	if err := tg.Client(t).EnsureTopics(ctx, domains.Topics(2)...); err != nil {
		t.Fatal(err)
	}
	data, dir := t.TempDir(), t.TempDir()
	d := datadir.Dir(data)
	if err := bootstrap(ctx, d); err != nil {
		t.Fatal(err)
	}
	// Over HTTPS, with the data directory's CA, as the example configures.
	if err := ensureDemoCertificates(d, "127.0.0.1:0", time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "id: passerelle-gateway\nlisten: 127.0.0.1:0\ndata: %s\nindex: %s\nkafka:\n  brokers: [%q]\n"+
		"audit:\n  topic: passerelle.audit.v1.test\n  checkpoint_interval: 1s\n  index: %s\n"+
		"tls:\n  cert_file: %s\n  key_file: %s\n  client_ca_file: %s\n  client_auth: optional\n",
		data, filepath.Join(dir, "view.db"), tg.Brokers[0], filepath.Join(dir, "audit.db"),
		d.TLSCert("gateway"), d.TLSKey("gateway"), d.CACert()), 0o600)
	hc := dataClient(t, data)
	const nir = "184127645108946"
	for life := 1; life <= 2; life++ {
		lctx, stop := context.WithCancel(ctx)
		out, w := newLines()
		done := make(chan int, 1)
		go func() { done <- run(lctx, []string{"gateway", "--config", cfg}, w, io.Discard); w.Close() }()
		base := out.waitFor(t, regexp.MustCompile(`listening on (https://\S+)`))[1]
		waitReady(t, lctx, hc, base)
		if life == 1 {
			code, body := get(t, hc, base+"/v1/rules")
			if code != 200 || !regexp.MustCompile(`"cnaf-housing-aid-eligibility"`).MatchString(body) {
				t.Fatalf("/v1/rules: %d", code)
			}
		}
		// Each trace is an event of the trail, and lists those before it;
		// the command trusts the data directory's CA without being told.
		var trace strings.Builder
		if code := run(ctx, []string{"audit", "trace", "--json", "--data", data, "--gateway", base, "--nir", nir}, &trace, io.Discard); code != exitOK {
			t.Fatalf("life %d: audit trace exit %d", life, code)
		}
		if got := strings.Count(trace.String(), `"kind":"trace"`); got != life-1 {
			t.Fatalf("life %d: the trace lists %d traces, want %d:\n%s", life, got, life-1, trace.String())
		}
		stop()
		if c := <-done; c != exitOK {
			t.Fatalf("life %d: exit %d", life, c)
		}
		if fi, err := os.Stat(filepath.Join(dir, "audit.db")); err != nil || fi.Size() == 0 {
			t.Fatalf("life %d left no audit index: %v", life, err)
		}
	}
}

func waitReady(t *testing.T, ctx context.Context, hc *http.Client, base string) {
	t.Helper()
	waitReadyWithin(t, ctx, hc, base, 100)
}

// waitReadyWithin polls /readyz up to tries times, 100 ms apart.
func waitReadyWithin(t *testing.T, ctx context.Context, hc *http.Client, base string, tries int) {
	t.Helper()
	for range tries {
		resp, err := hc.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-newTimer():
		}
	}
	t.Fatal("gateway never ready")
}

func TestGatewayConfigNamesTheBadField(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\naudit: {checkpoint_interval: -1s}\n", "audit.checkpoint_interval"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\naudit: {topik: x}\n", "topik"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\nvault: {token: \"${HOME}\"}\n", "vault.address: required"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\nvault: {address: \"http://127.0.0.1:1\"}\n", "vault.token: required"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\nvault: {address: \"http://127.0.0.1:1\", token: \"${HOME}\", sign_kee: x}\n", "sign_kee"},
		// A secret in clear is refused before anything starts, and not repeated.
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"], sasl: {mechanism: PLAIN, username: gw, password: hunter2}}\n", "kafka.sasl.password: a secret must be ${VAR} or file:PATH"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\nvault: {address: \"http://127.0.0.1:1\", token: t}\n", "vault.token: a secret must be ${VAR} or file:PATH"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\ntls: {key_file: k}\n", "tls.cert_file: required"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\ntls: {cert_file: c, key_file: k, client_auth: maybe}\n", "tls.client_auth"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\ntls: {cert_file: c, key_file: k, client_auth: required}\n", "tls.client_ca_file: required"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\ntls: {cert_file: /nonexistent.crt, key_file: /nonexistent.key}\n", "tls.cert_file, tls.key_file"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\ntls: {cert_file: c, key_file: k, sni: x}\n", "sni"},
	} {
		cfg := filepath.Join(t.TempDir(), "gateway.yaml")
		os.WriteFile(cfg, []byte(tc.yaml), 0o600)
		var stderr strings.Builder
		if code := run(context.Background(), []string{"gateway", "--config", cfg}, io.Discard, &stderr); code != exitFail || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("exit %d, stderr %q, want a failure naming %q", code, stderr.String(), tc.want)
		}
		if strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("stderr shows the secret: %s", stderr.String())
		}
	}
}
