package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/datadir"
)

// lines collects the output of a command running in another goroutine and
// lets the test wait for a pattern.
type lines struct{ ch chan string }

func newLines() (*lines, io.WriteCloser) {
	pr, pw := io.Pipe()
	l := &lines{ch: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l.ch <- sc.Text()
		}
		close(l.ch)
	}()
	return l, pw
}

func (l *lines) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		select {
		case line, ok := <-l.ch:
			if !ok {
				t.Fatalf("output ended before %s", re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no line matching %s within 90s", re)
		}
	}
}

func get(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDemoServesHealthAndMetricsAndStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := newLines()
	done := make(chan int, 1)
	data := t.TempDir()
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0", "--data", data, "--citizens", "300"}, w, io.Discard)
		w.Close()
	}()
	brokers := out.waitFor(t, regexp.MustCompile(`Kafka brokers:\s+(\S+)`))[1]
	base := out.waitFor(t, regexp.MustCompile(`Gateway:\s+(https://\S+)`))[1]
	example := out.waitFor(t, regexp.MustCompile(demoExample))[1]
	verify := strings.Fields(out.waitFor(t, regexp.MustCompile(`^  .* (audit verify .*)$`))[1])
	kcatL := out.waitFor(t, regexp.MustCompile(`^  (kcat .* -L)$`))[1]
	kcatC := out.waitFor(t, regexp.MustCompile(`^  (kcat -F .*)$`))[1]
	out.waitFor(t, regexp.MustCompile(`Connectors caught up`))
	hc := dataClient(t, data)

	// The example request the demo prints works as printed.
	req, _ := http.NewRequest("GET", example, nil)
	req.Header.Set("Authorization", "Bearer "+mintToken(t, data))
	var resp *http.Response
	for range 50 { // the view may still be catching up
		r, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp = r; r.StatusCode == http.StatusOK {
			break
		}
		r.Body.Close()
		time.Sleep(200 * time.Millisecond)
		req.Header.Set("Authorization", "Bearer "+mintToken(t, data)) // a jti is single-use
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"decision":"allow"`) || !strings.Contains(string(b), `"tax.reference_income"`) {
		t.Fatalf("example request: %d %s", resp.StatusCode, b)
	}

	// The auditor's commands, as the demo prints them.
	nir := regexp.MustCompile(`/v1/citizens/([^/]+)/view`).FindStringSubmatch(example)[1]
	witness := filepath.Join(t.TempDir(), "witness")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "checkpoint", "--data", data, "--gateway", base, "--witness", witness}, "\n— passerelle-gateway "},
		{[]string{"audit", "trace", "--data", data, "--gateway", base, "--nir", nir}, "cnaf-housing-aid-eligibility"},
		{[]string{"audit", "checkpoint", "--data", data, "--gateway", base, "--witness", witness}, "\n— passerelle-gateway "},
		{verify, "verified in"}, // as printed: as the auditor, over TLS
	} {
		var stdout, stderr strings.Builder
		if code := run(ctx, tc.args, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", strings.Join(tc.args[:2], " "), code, stdout.String(), stderr.String(), tc.want)
		}
	}

	t.Run("locked down", func(t *testing.T) { checkDemoLockedDown(t, datadir.Dir(data), brokers, kcatL, kcatC) })

	// The data-protection officer erases the citizen: the example request
	// releases nothing of their tax record any more, and the trail still
	// verifies, as printed.
	var so, se strings.Builder
	if code := run(ctx, []string{"erase", "--data", data, "--gateway", base, "--reason", "the citizen's request",
		"--legal-basis", "GDPR art. 17(1)(a)", "--nir", nir}, &so, &se); code != exitOK || !strings.Contains(so.String(), "tax") {
		t.Errorf("erase: exit %d, stdout %q, stderr %q", code, so.String(), se.String())
	}
	req.Header.Set("Authorization", "Bearer "+mintToken(t, data))
	if r, err := hc.Do(req); err != nil {
		t.Fatal(err)
	} else {
		var a struct {
			Fields map[string]any `json:"fields"`
		}
		json.NewDecoder(r.Body).Decode(&a)
		r.Body.Close()
		if r.StatusCode != http.StatusOK || a.Fields["tax.reference_income"] != nil {
			t.Errorf("after the erasure: %d, fields %v", r.StatusCode, a.Fields)
		}
	}
	so.Reset()
	if code := run(ctx, verify, &so, io.Discard); code != exitOK || !strings.Contains(so.String(), "verified in") {
		t.Errorf("audit verify after the erasure: exit %d, %q", code, so.String())
	}

	for _, tc := range []struct{ path, want string }{
		{"/healthz", `"status":"ok"`},
		{"/readyz", `"kafka":"ok"`},
		{"/metrics", "passerelle_bus_produce_seconds"},
		{"/metrics", "go_goroutines"},
		{"/v1/members", `"id":"dgfip"`},
		{"/v1/members/cnam/jwks.json", `"kty":"OKP"`},
		{"/registry/subjects", "passerelle.tax.household.v1-value"},
		{"/metrics", "passerelle_connector_records_published_total"},
		{"/metrics", "passerelle_audit_unsigned_events"},
		{"/metrics", "passerelle_audit_group_commit_events_count"},
		{"/readyz", `"audit":"ok"`},
		{"/v1/rules", `"legal_reference":"Code de la construction`},
	} {
		code, body := get(t, hc, base+tc.path)
		if code != http.StatusOK || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d %.300q, want 200 containing %q", tc.path, code, body, tc.want)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("demo exited %d after Ctrl-C, want 0", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop within 15s of Ctrl-C")
	}
}

// demoExample finds the example request the demo prints, over HTTPS with
// the data directory's CA; its group is the URL.
const demoExample = `curl -s --cacert \S+/tls/ca\.crt -H "Authorization: Bearer \$\([^)]*\)" '(https://\S+)'`

// dataClient trusts the CA of a data directory, as the passerelle
// commands and the demo's printed curl lines do.
func dataClient(t *testing.T, data string) *http.Client {
	t.Helper()
	hc, _, err := gatewayTLS{}.client(datadir.Dir(data))
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

func mintToken(t *testing.T, data string) string {
	var tok strings.Builder
	if code := run(context.Background(), []string{"token", "--data", data, "--member", "cnaf"}, &tok, io.Discard); code != exitOK {
		t.Fatal("token failed")
	}
	return strings.TrimSpace(tok.String())
}

func TestDemoFailsFastOnUnreachableBroker(t *testing.T) {
	var stderr strings.Builder
	start := time.Now()
	code := run(context.Background(), []string{"demo", "--brokers", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, io.Discard, &stderr)
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if !strings.Contains(stderr.String(), "broker 127.0.0.1:1") || !strings.Contains(stderr.String(), "unreachable") {
		t.Errorf("stderr does not name the broker and the cause: %s", stderr.String())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %s to fail", d)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "commands:"},
		{[]string{"--help"}, exitOK, "demo"},
		{[]string{"nope"}, exitUsage, `unknown command "nope"`},
		{[]string{"demo", "--help"}, exitOK, "--broker-listen"},
		{[]string{"demo", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"demo", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"audit"}, exitUsage, "verify|trace|checkpoint"},
		{[]string{"audit", "--help"}, exitOK, "replay the audit topic"},
		{[]string{"audit", "nope"}, exitUsage, `unknown audit command "nope"`},
		{[]string{"audit", "verify", "--help"}, exitOK, "--origin"},
		{[]string{"audit", "prove"}, exitUsage, "--event is required"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr strings.Builder
			if code := run(context.Background(), tc.args, io.Discard, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

func newTimer() <-chan time.Time { return time.After(100 * time.Millisecond) }
