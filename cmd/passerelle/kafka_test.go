package main

import (
	"bytes"
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
)

// An operator applies the ACL file to the locked-down real broker with the
// binary, checks it, and a gateway signed in as the principal gateway,
// its password in the file apply made, gets ready: the file's rights are
// all a gateway needs. Applied twice, the file changes nothing.
func TestKafkaApplyThenAGatewayAsItsPrincipal(t *testing.T) {
	tg := bustest.Real(t)
	if tg.Security == nil {
		t.Skip("the broker is not locked down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	users := t.TempDir()
	kafka := func(verb string, extra ...string) (int, string) {
		var out bytes.Buffer
		args := append([]string{"kafka", verb, "--acls", bustest.ACLFile(t), "--partitions", "1"}, extra...)
		code := run(ctx, append(args, tg.CLIArgs()...), &out, &out)
		return code, out.String()
	}
	if code, out := kafka("apply", "--users-dir", users); code != 0 {
		t.Fatalf("apply: %d\n%s", code, out)
	}
	if code, out := kafka("apply", "--users-dir", users); code != 0 || !strings.Contains(out, "0 entries added, 0 removed") {
		t.Fatalf("a second apply changed something: %d\n%s", code, out)
	}
	if code, out := kafka("check"); code != 0 || !strings.Contains(out, "exactly") {
		t.Fatalf("check: %d\n%s", code, out)
	}
	if st, err := os.Stat(filepath.Join(users, "gateway.password")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the gateway's password file: %v %v", st, err)
	}

	data, dir := t.TempDir(), t.TempDir()
	if err := bootstrap(ctx, datadir.Dir(data)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `id: passerelle-gateway
listen: 127.0.0.1:0
data: %s
kafka:
  brokers: [%s]
  tls: {ca_file: %s}
  sasl: {mechanism: SCRAM-SHA-512, username: gateway, password: "file:%s"}
`, data, strings.Join(tg.Brokers, ", "), tg.Security.CAFile, filepath.Join(users, "gateway.password")), 0o600)
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	out, w := newLines()
	done := make(chan int, 1)
	go func() { done <- run(gctx, []string{"gateway", "--config", cfg}, w, io.Discard); w.Close() }()
	base := out.waitFor(t, regexp.MustCompile(`listening on (https?://\S+)`))[1]
	waitReadyWithin(t, gctx, http.DefaultClient, base, 1800) // the shared broker's topics hold every other test's records
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("the gateway exited %d", code)
	}
}
