package bustest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Broker is a real Apache Kafka broker of one test's own, started by
// deploy/local/kafka.sh on ports and a state directory of its own: the test
// may kill it, freeze it or restart it, which it must not do to the shared
// broker every other test runs beside.
type Broker struct {
	Target
	t     testing.TB
	env   []string
	state string
	ports []int // the broker's, its controller's and its mutual-TLS listener's
}

// Private starts a broker for the test and stops it, state removed, when the
// test ends. It needs what the shared real broker needs (Java, the jars
// kafka.sh caches); outside CI it skips when no real broker is configured,
// in CI it fails.
func Private(t testing.TB) *Broker {
	t.Helper()
	Real(t) // skips or fails as the shared broker's tests do
	state := t.TempDir()
	port, ctl, mtls := freePort(t), freePort(t), freePort(t)
	b := &Broker{t: t, state: state, ports: []int{port, ctl, mtls}, env: append(os.Environ(),
		"PASSERELLE_STATE="+state, "KAFKA_PORT="+strconv.Itoa(port), "KAFKA_CONTROLLER_PORT="+strconv.Itoa(ctl),
		"KAFKA_MTLS_PORT="+strconv.Itoa(mtls), "KAFKA_HEAP=-Xms128m -Xmx512m")}
	b.Target = Target{Name: "private-kafka", Brokers: []string{fmt.Sprintf("127.0.0.1:%d", port)}}
	t.Cleanup(func() { b.script("down") })
	b.Start()
	return b
}

// Start starts the broker, or starts it again after Kill, with the log it
// had.
func (b *Broker) Start() {
	b.t.Helper()
	out, err := b.script("up")
	if err != nil {
		b.t.Fatalf("kafka.sh up: %v\n%s", err, out)
	}
	// The settings are the VAR=value lines; progress lines say "kafka.sh:".
	settings := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.HasPrefix(k, "PASSERELLE_") {
			settings[k] = v
		}
	}
	if b.Security, err = securityFrom(func(k string) string { return settings[k] }); err != nil {
		b.t.Fatalf("kafka.sh up: credentials: %v", err)
	}
}

// Kill sends the broker SIGKILL and waits until it is gone.
func (b *Broker) Kill() {
	b.t.Helper()
	pid := b.pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		b.t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") {
			break // a zombie of kafka.sh's nohup, reaped by init soon
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The leader can be a zombie while the JVM's other threads still tear
	// down, its sockets with them: Start would find its ports taken.
	for _, port := range b.ports {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				ln.Close()
				break
			}
			if time.Now().After(deadline) {
				b.t.Fatalf("port %d still held 30s after the broker was killed: %v", port, err)
			}
		}
	}
}

// Pause freezes the broker (SIGSTOP): it holds its connections and answers
// nothing until resume (SIGCONT).
func (b *Broker) Pause() (resume func()) {
	b.t.Helper()
	pid := b.pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		b.t.Fatal(err)
	}
	// kill returns before every thread has stopped: one still running
	// would answer a request sent right after.
	for deadline := time.Now().Add(10 * time.Second); !allStopped(pid); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.t.Fatal("the broker's threads did not all stop within 10s of SIGSTOP")
		}
	}
	return func() { syscall.Kill(pid, syscall.SIGCONT) }
}

// allStopped: every thread of the process is in state T (stopped).
func allStopped(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	for _, f := range tasks {
		st, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that exited
		}
		i := strings.LastIndexByte(string(st), ')')
		if i < 0 || i+2 >= len(st) || st[i+2] != 'T' {
			return false
		}
	}
	return len(tasks) > 0
}

func (b *Broker) pid() int {
	b.t.Helper()
	raw, err := os.ReadFile(filepath.Join(b.state, "kafka", "kafka.pid"))
	if err != nil {
		b.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		b.t.Fatal(err)
	}
	return pid
}

func (b *Broker) script(verb string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(repoRoot(b.t), "deploy", "local", "kafka.sh"), verb)
	cmd.Env = b.env
	return cmd.CombinedOutput()
}

// repoRoot is the directory of go.mod above the test's directory.
func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
