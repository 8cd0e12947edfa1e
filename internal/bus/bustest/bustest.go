// Package bustest gives tests the brokers to run against: always the
// embedded one, and the real Kafka broker named by PASSERELLE_KAFKA_BROKERS.
//
// Outside CI a missing real broker skips its subtests with the command that
// would start it; in CI (CI set) it fails them, so that a green CI run means
// the real broker was exercised.
package bustest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
)

// EnvBrokers names the real brokers for integration tests.
const EnvBrokers = "PASSERELLE_KAFKA_BROKERS"

// Target is one broker a test runs against.
type Target struct {
	Name     string // "embedded" or "kafka"
	Brokers  []string
	Embedded *bus.Embedded // nil for a real broker
	// Security is how to reach a locked-down broker; nil for a plaintext one.
	Security *Security
}

// Client returns a bus client for the target, as its superuser, closed
// with the test.
func (tg Target) Client(t testing.TB) *bus.Client {
	t.Helper()
	cfg := tg.Config()
	cfg.DialTimeout = 5 * time.Second
	c, err := bus.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Embedded starts an in-process broker for the test.
func Embedded(t testing.TB) Target {
	t.Helper()
	e, err := bus.StartEmbedded(bus.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return Target{Name: "embedded", Brokers: []string{e.Addr()}, Embedded: e}
}

// Real returns the real broker, or skips (fails in CI) when none is set.
func Real(t testing.TB) Target {
	t.Helper()
	v := os.Getenv(EnvBrokers)
	if v == "" {
		msg := fmt.Sprintf("real Kafka not configured: run `deploy/local/kafka.sh up` and set %s=127.0.0.1:19092 (or run `make test`)", EnvBrokers)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must not skip real-broker tests")
		}
		t.Skip(msg)
	}
	sec, err := securityFrom(os.Getenv)
	if err != nil {
		t.Fatalf("real Kafka's credentials: %v", err)
	}
	return Target{Name: "kafka", Brokers: strings.Split(v, ","), Security: sec}
}

// Each runs fn as a subtest against the embedded broker and the real one.
func Each(t *testing.T, fn func(t *testing.T, tg Target)) {
	t.Run("embedded", func(t *testing.T) { fn(t, Embedded(t)) })
	t.Run("kafka", func(t *testing.T) { fn(t, Real(t)) })
}

var seq atomic.Int64

// Topic creates a fresh topic with a name unique to this test run, so tests
// sharing one real broker never see each other's records.
func Topic(t testing.TB, c *bus.Client, partitions int) string {
	t.Helper()
	name := fmt.Sprintf("test.%s.%d.%d", sanitize(t.Name()), time.Now().UnixNano(), seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.EnsureTopics(ctx, bus.TopicSpec{Name: name, Partitions: partitions, Cleanup: bus.CleanupDelete}); err != nil {
		t.Fatal(err)
	}
	return name
}

func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		}
		return '-'
	}, s)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// Follow runs fn, a follower of a topic (a view, a trail, a journal),
// until the test ends: its cleanup cancels fn's context and waits for fn
// to return, before the broker's own cleanup closes it, so nothing a
// test started outlives it (goleak checks every package).
func Follow(t testing.TB, ctx context.Context, fn func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}
