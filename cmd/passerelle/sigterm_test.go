package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/synth"
)

// sigtermDeadline is how long a stopping command may take: the HTTP
// server's shutdown (5 s at most) and the parts' stop (stopTimeout).
const sigtermDeadline = 5*time.Second + stopTimeout + 5*time.Second

// The real binary, sent SIGTERM after one audited request, stops within
// the deadline with exit code 0, and the request's audit event is on the
// audit topic afterwards: the demo on its embedded broker (read back by
// starting that broker again on its data directory) and the gateway on a
// broker of the test's.
func TestGatewayStopsCleanlyOnSIGTERM(t *testing.T) {
	bin := buildPasserelle(t)
	for _, tc := range []struct {
		name string
		// start returns the command's arguments, the data directory and
		// the brokers to read the audit topic from once it has stopped
		// (nil: the demo's embedded broker, started again on its log).
		start func(t *testing.T) (args []string, data string, brokers []string)
		// url is the audited request, from the command's output
		url func(t *testing.T, out *lines) string
	}{
		{"demo",
			func(t *testing.T) ([]string, string, []string) {
				data := t.TempDir()
				return []string{"demo", "--citizens", "50", "--data", data, "--listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0"}, data, nil
			},
			func(t *testing.T, out *lines) string {
				url := out.waitFor(t, regexp.MustCompile(demoExample))[1]
				out.waitFor(t, regexp.MustCompile(`Connectors caught up`))
				return url
			}},
		{"gateway",
			func(t *testing.T) ([]string, string, []string) {
				tg := bustest.Embedded(t)
				ctx := context.Background()
				if err := tg.Client(t).EnsureTopics(ctx, domains.Topics(1)...); err != nil {
					t.Fatal(err)
				}
				data, dir := t.TempDir(), t.TempDir()
				if err := bootstrap(ctx, datadir.Dir(data)); err != nil {
					t.Fatal(err)
				}
				cfg := filepath.Join(dir, "gateway.yaml")
				os.WriteFile(cfg, fmt.Appendf(nil, "id: passerelle-gateway\nlisten: 127.0.0.1:0\ndata: %s\nkafka:\n  brokers: [%q]\naudit:\n  index: %s\n",
					data, tg.Brokers[0], filepath.Join(dir, "audit.db")), 0o600)
				return []string{"gateway", "--config", cfg}, data, tg.Brokers
			},
			func(t *testing.T, out *lines) string {
				base := out.waitFor(t, regexp.MustCompile(`listening on (http://\S+)`))[1]
				return base + "/v1/citizens/184127645108946/view?purpose=housing-aid-eligibility&fields=tax.reference_income"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, data, brokers := tc.start(t)
			out, w := newLines()
			var stderr syncBuffer
			cmd := exec.Command(bin, args...)
			cmd.Stdout, cmd.Stderr = w, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait(); w.Close() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-exited
				}
			}()
			id := auditedRequest(t, tc.url(t, out), data)

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			select {
			case err := <-exited:
				took := time.Since(sent)
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v (after %s)\n%s", err, took, stderr.String())
				}
				t.Logf("stopped %s after SIGTERM", took.Round(time.Millisecond))
			case <-time.After(sigtermDeadline):
				t.Fatalf("still running %s after SIGTERM\n%s", sigtermDeadline, stderr.String())
			}
			if strings.Contains(stderr.String(), "did not stop") {
				t.Fatalf("a part did not stop:\n%s", stderr.String())
			}

			if brokers == nil { // the demo's broker, started again on its log
				emb, err := bus.StartEmbedded(bus.EmbeddedOptions{DataDir: datadir.Dir(data).Kafka()})
				if err != nil {
					t.Fatal(err)
				}
				defer emb.Close()
				brokers = []string{emb.Addr()}
			}
			ev, ok := auditEvent(t, brokers, id)
			if !ok {
				t.Fatalf("the event of request %s is not on %s after the stop", id, bus.TopicAudit)
			}
			if ev.Kind != audit.KindView || ev.Requester != "cnaf" {
				t.Fatalf("event %s: %+v", id, ev)
			}
		})
	}
}

func buildPasserelle(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "passerelle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// A polling connector, sent SIGTERM once it has published, stops within
// the deadline with exit code 0 and says what it published.
func TestConnectStopsCleanlyOnSIGTERM(t *testing.T) {
	bin := buildPasserelle(t)
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	ctx := context.Background()
	if err := client.EnsureTopics(ctx, domains.Topics(1)...); err != nil {
		t.Fatal(err)
	}
	data, sources := t.TempDir(), t.TempDir()
	if err := bootstrap(ctx, datadir.Dir(data)); err != nil {
		t.Fatal(err)
	}
	if err := synth.WriteCivilStatus(sources, synth.Generate(50, 1, synth.Options{})); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "connector.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "member: insee\ndomain: civilstatus\ndata: %s\nkafka:\n  brokers: [%q]\npoll: 100ms\nsource:\n  dir: %s\n",
		data, tg.Brokers[0], filepath.Join(sources, "civilstatus")), 0o600)
	var stdout, stderr syncBuffer
	cmd := exec.Command(bin, "connect", "civilstatus", "--config", cfg)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	}()
	topic := bus.DomainTopic("civilstatus", "person", 1)
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if hw, err := client.HighWatermark(ctx, topic, 0); err == nil && hw > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing published on %s within 90 s\n%s", topic, stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
		t.Logf("stopped %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
	case <-time.After(sigtermDeadline):
		t.Fatalf("still running %s after SIGTERM\n%s", sigtermDeadline, stderr.String())
	}
	if !regexp.MustCompile(`civilstatus: \d+ rows read, [1-9]\d* published`).MatchString(stdout.String()) {
		t.Fatalf("stdout: %q", stdout.String())
	}
}

// auditedRequest asks url as cnaf until the view answers and returns the
// request's id, which is its audit event's.
func auditedRequest(t *testing.T, url, data string) string {
	t.Helper()
	hc := dataClient(t, data) // the demo serves HTTPS, with its data directory's CA
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+mintToken(t, data)) // a jti is single-use
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			var v struct {
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(b, &v); err != nil || v.RequestID == "" {
				t.Fatalf("answer without a request id: %s", b)
			}
			return v.RequestID
		}
		if time.Now().After(deadline) { // the view may still be catching up
			t.Fatalf("no answer within 90 s: %d %s", resp.StatusCode, b)
		}
	}
}

// auditEvent reads the audit topic for the event id.
func auditEvent(t *testing.T, brokers []string, id string) (audit.Event, bool) {
	t.Helper()
	client, err := bus.New(bus.Config{Brokers: brokers}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var found audit.Event
	ok := false
	err = client.Replay(ctx, bus.TopicAudit, bus.ReplayOptions{}, func(m bus.Message) error {
		if string(m.Key) == id {
			ok = true
			return json.Unmarshal(m.Value, &found)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found, ok
}

// syncBuffer is a strings.Builder safe for the writer and the reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
