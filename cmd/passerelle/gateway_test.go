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

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/datadir"
)

// The standalone gateway, configured by a file, on a data directory the
// demo's bootstrap prepared, with its view on disk: it becomes ready and
// serves the register.
func TestGatewayCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tg := bustest.Embedded(t)
	if err := tg.Client(t).EnsureTopics(ctx, bus.StandardTopics(2)...); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := bootstrap(ctx, datadir.Dir(data)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "gateway.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "id: passerelle-gateway\nlisten: 127.0.0.1:0\ndata: %s\nindex: %s\nkafka:\n  brokers: [%q]\naudit:\n  topic: passerelle.audit.v1.test\n  checkpoint_interval: 1s\n",
		data, filepath.Join(t.TempDir(), "view.db"), tg.Brokers[0]), 0o600)
	out, w := newLines()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"gateway", "--config", cfg}, w, io.Discard); w.Close() }()
	base := out.waitFor(t, regexp.MustCompile(`listening on (http://\S+)`))[1]
	ready := false
	for range 100 {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if ready = resp.StatusCode == 200; ready {
				break
			}
		}
		select {
		case <-ctx.Done():
		case <-newTimer():
		}
	}
	if !ready {
		t.Fatal("gateway never ready")
	}
	code, body := get(t, base+"/v1/rules")
	if code != 200 || !regexp.MustCompile(`"cnaf-housing-aid-eligibility"`).MatchString(body) {
		t.Fatalf("/v1/rules: %d", code)
	}
	cancel()
	if c := <-done; c != exitOK {
		t.Fatalf("exit %d", c)
	}
}

func TestGatewayConfigNamesTheBadField(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\naudit: {checkpoint_interval: -1s}\n", "audit.checkpoint_interval"},
		{"id: gw\nlisten: 127.0.0.1:0\ndata: d\nkafka: {brokers: [\"127.0.0.1:9092\"]}\naudit: {topik: x}\n", "topik"},
	} {
		cfg := filepath.Join(t.TempDir(), "gateway.yaml")
		os.WriteFile(cfg, []byte(tc.yaml), 0o600)
		var stderr strings.Builder
		if code := run(context.Background(), []string{"gateway", "--config", cfg}, io.Discard, &stderr); code != exitFail || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("exit %d, stderr %q, want a failure naming %q", code, stderr.String(), tc.want)
		}
	}
}
