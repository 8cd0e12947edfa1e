package firsthour

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
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
)

// The demo's default addresses, which the README's commands use.
var defaults = []string{"127.0.0.1:8080", "127.0.0.1:9092", "127.0.0.1:8081"}

// A new user's first hour, scripted: from the tracked files alone, `make
// demo`, then every command the README's "Try it" and the demo's printout
// give, exactly as printed, each answer checked; then Ctrl-C, which ends
// the demo cleanly.
func TestFirstHour(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is needed: the README's first command is make demo")
	}
	for _, addr := range defaults {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is taken: the README's commands use the demo's default addresses (%v)", addr, err)
		}
		ln.Close()
	}
	// A new user's shell has none of the settings make test exports for the
	// real services: with PASSERELLE_KAFKA_BROKERS set, the README's second
	// gateway would reach the test broker instead of the demo's.
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PASSERELLE_") || strings.HasPrefix(name, "VAULT_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	dir := clone(t)
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	tryIt := block(t, string(readme), "## Try it")

	demo := exec.Command("make", "demo")
	demo.Dir = dir
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches make and the demo, as on a terminal
	out := watch(t, demo)
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			syscall.Kill(-demo.Process.Pid, syscall.SIGKILL)
			demo.Wait()
		}
	})
	out.waitFor(t, "Passerelle demo is running.", 15*time.Minute) // the first build, on a machine without the cache
	out.waitFor(t, "Connectors caught up", 5*time.Minute)
	printed := out.commands()
	if len(printed) < 8 {
		t.Fatalf("the demo printed %d commands: %q", len(printed), printed)
	}

	for _, line := range append(tryIt, printed...) {
		t.Run(line, func(t *testing.T) {
			if strings.Contains(line, " gateway --config ") {
				secondGateway(t, dir, line)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", line)
			cmd.Dir = dir
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			}
			check(t, line, stdout.String())
		})
	}

	// Ctrl-C, as a user stops it: the demo stops cleanly, and make with it.
	syscall.Kill(-demo.Process.Pid, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- demo.Wait() }()
	select {
	case err := <-done:
		stopped = true
		// make itself takes the Ctrl-C as it should (a shell sees 130);
		// what matters is that the demo stopped cleanly and make found no
		// error in it.
		if err != nil && !interrupted(err) {
			t.Fatalf("make demo after Ctrl-C: %v\n%s", err, out.tail())
		}
		out.waitFor(t, "msg=stopped", time.Second)
		if tail := out.tail(); strings.Contains(tail, "*** [") && strings.Contains(tail, "Error") {
			t.Fatalf("make reports an error after Ctrl-C:\n%s", tail)
		}
	case <-time.After(time.Minute):
		t.Fatal("make demo still running a minute after Ctrl-C")
	}
}

// interrupted: the process ended on the SIGINT it was sent, as a
// foreground job on Ctrl-C does.
func interrupted(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && (ws.Signaled() && ws.Signal() == syscall.SIGINT || ws.ExitStatus() == 130)
}

// check reads an answer as the user would: a JSON document that is not a
// problem (except the refusal the README announces), or text that says
// what the command did.
func check(t *testing.T, line, out string) {
	t.Helper()
	out = strings.TrimSpace(out)
	if out == "" {
		t.Fatal("printed nothing")
	}
	if !strings.HasPrefix(out, "{") {
		if strings.Contains(line, "audit verify") && !strings.Contains(out, "verified in") {
			t.Fatalf("the log did not verify:\n%s", out)
		}
		if strings.Contains(line, "audit trace") && !strings.Contains(out, "cnaf") {
			t.Fatalf("the trace does not show the benefits payer's access:\n%s", out)
		}
		if strings.Contains(line, " stats ") && (!strings.Contains(out, "hypercube") || !regexp.MustCompile(`\n +F +35-44 +\d{2,}`).MatchString(out)) {
			t.Fatalf("the statistic released no figure of women aged 35-44, or says nothing of its protection:\n%s", out)
		}
		return
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if code, _ := doc["code"].(string); code != "" {
		if code == "field-not-allowed" && strings.Contains(line, "health.scheme") {
			return // the refusal the README announces
		}
		t.Fatalf("answered a problem: %s", out)
	}
	if strings.Contains(line, "/view?") {
		fields, _ := doc["fields"].(map[string]any)
		if len(fields) == 0 {
			t.Fatalf("the view released nothing: %s", out)
		}
	}
	if strings.HasSuffix(line, "/readyz") && doc["ready"] != true {
		t.Fatalf("not ready: %s", out)
	}
}

// secondGateway starts the README's second gateway, checks it answers
// ready on its own address, and stops it with Ctrl-C.
func secondGateway(t *testing.T, dir, line string) {
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches the gateway under bash
	out := watch(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	out.waitFor(t, "listening on https://127.0.0.1:8081", time.Minute)
	// It serves HTTPS with the demo's certificate, as the first does.
	pem, err := os.ReadFile(filepath.Join(dir, ".passerelle-demo", "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("the demo's ca.crt holds no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := hc.Get("https://127.0.0.1:8081/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second gateway never became ready: %v\n%s", err, out.tail())
		}
		time.Sleep(500 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	if err := cmd.Wait(); err != nil && !interrupted(err) {
		t.Fatalf("the second gateway after Ctrl-C: %v\n%s", err, out.tail())
	}
}

// clone copies the repository's tracked files, as they are in the working
// tree, into a directory of the test's: what a clone holds, without the
// build outputs, the demo data or anything else left behind.
func clone(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v (the first hour starts from a clone)", err)
	}
	dir := filepath.Join(t.TempDir(), "passerelle")
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil {
			continue // deleted in the working tree
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// block is the lines of the first ```sh block after the heading.
func block(t *testing.T, doc, heading string) []string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("the README has no %q", heading)
	}
	rest := doc[i:]
	start := strings.Index(rest, "```sh\n")
	end := strings.Index(rest[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("no sh block under %q", heading)
	}
	var lines []string
	for _, l := range strings.Split(rest[start+6:start+6+end], "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines
}

// output follows a command's combined output.
type output struct {
	mu    sync.Mutex
	lines []string
	grew  chan struct{}
}

func watch(t *testing.T, cmd *exec.Cmd) *output {
	t.Helper()
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	o := &output{grew: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			o.mu.Lock()
			o.lines = append(o.lines, sc.Text())
			o.mu.Unlock()
			select {
			case o.grew <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { w.Close() })
	return o
}

func (o *output) waitFor(t *testing.T, text string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		o.mu.Lock()
		for _, l := range o.lines {
			if strings.Contains(l, text) {
				o.mu.Unlock()
				return
			}
		}
		o.mu.Unlock()
		select {
		case <-o.grew:
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatalf("no %q within %s:\n%s", text, within, o.tail())
		}
	}
}

// commandLine is a command the demo prints, indented under its heading.
var commandLine = regexp.MustCompile(`^  ((curl|kcat|bin/passerelle|passerelle|go run) .*)$`)

// commands are the command lines of the demo's printout.
func (o *output) commands() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, l := range o.lines {
		if m := commandLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

func (o *output) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.lines[max(0, len(o.lines)-40):], "\n")
}
