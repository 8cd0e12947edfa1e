package gateway_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/supervise"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// A started gateway's /readyz names a part that failed, its own (the view
// missing a domain's topic) or one its caller started beside it later (a
// connector), and says ok for each other part, which goes on; Stop then
// stops every part and leaves no goroutine behind.
func TestStartedGatewayNamesAFailedPart(t *testing.T) {
	errSource := errors.New("source gone")
	for _, tc := range []struct {
		name string
		// missing is a topic not created
		missing string
		// later is a part started after the gateway, failing on cue
		later   bool
		failed  string // the part /readyz names
		message string
	}{
		{name: "a part started after the gateway fails once the gateway is ready", later: true,
			failed: "connector/tax", message: "failed: source gone"},
		{name: "the view fails: a domain topic is missing", missing: bus.DomainTopic("health", "coverage", 1),
			failed: gateway.PartView, message: "failed: view of health"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaks := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // last: after the broker is closed
			tg := bustest.Embedded(t)
			client := tg.Client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var specs []bus.TopicSpec
			for _, s := range domains.Topics(1) {
				if s.Name != tc.missing {
					specs = append(specs, s)
				}
			}
			if err := client.EnsureTopics(ctx, specs...); err != nil {
				t.Fatal(err)
			}
			w := trusttest.New(t, viewMembers)
			kr := pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo"))
			kr.Ensure(pseudo.KeyNames(domains.Names())...)
			rules, err := policy.Load(policy.Default, ".")
			if err != nil {
				t.Fatal(err)
			}
			cat, _ := domains.Catalog()
			parts := supervise.New(nil)
			gw, err := gateway.Start(ctx, gateway.Parts{ID: gatewayID, Metrics: prometheus.NewRegistry(), Bus: client, Trust: w.Store(t), Rules: rules,
				Schemas: cat, Pseudo: pseudo.New(kr), Signer: w.Signer(t, gatewayID), Index: view.NewMemory(),
				AuditTopic: bustest.Topic(t, client, 1), AuditIndex: filepath.Join(t.TempDir(), "audit.db"), Group: parts})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(gw.Handler)
			if tc.later {
				waitFor(t, "readiness", func() bool { code, _ := call(t, srv, "", "GET", "/readyz", nil); return code == 200 })
				fail := make(chan struct{})
				err := parts.Start(ctx, supervise.Part{Name: tc.failed, Run: func(ctx context.Context) error {
					select {
					case <-fail:
						return errSource
					case <-ctx.Done():
						return nil
					}
				}})
				if err != nil {
					t.Fatal(err)
				}
				close(fail)
			}
			// The others catch up and stay ok beside the failed part.
			others := []string{gateway.PartTrail, gateway.PartAuditLog, gateway.PartCheckpoints, gateway.PartConsents, "kafka"}
			var checks map[string]any
			waitFor(t, "/readyz to name "+tc.failed+" alone", func() bool {
				code, body := call(t, srv, "", "GET", "/readyz", nil)
				checks, _ = body["checks"].(map[string]any)
				for _, name := range others {
					if checks[name] != "ok" {
						return false
					}
				}
				return code == 503 && body["ready"] == false && checks[tc.failed] != nil && checks[tc.failed] != "ok"
			})
			if got, _ := checks[tc.failed].(string); !strings.HasPrefix(got, tc.message) {
				t.Fatalf("/readyz says %q of %s, want %q...", got, tc.failed, tc.message)
			}
			srv.Close()
			sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer scancel()
			if err := gw.Stop(sctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			for _, h := range parts.Health() {
				if want := map[bool]supervise.State{true: supervise.Failed, false: supervise.Stopped}[h.Name == tc.failed]; h.State != want {
					t.Errorf("after Stop, %s is %s, want %s", h.Name, h.State, want)
				}
			}
		})
	}
}
