package bus_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

// kafka-go has no idempotent producer: a produce the broker applied but
// answered with a timeout is retried and lands twice. This test pins that
// fact, which is why every Passerelle record carries a deterministic id and
// every consumer is idempotent. Nothing may be lost.
func TestRetriedProduceDuplicatesButLosesNothing(t *testing.T) {
	tg := bustest.Embedded(t)
	c := tg.Client(t)
	topic := bustest.Topic(t, c, 2)
	// Applied, then answered "timed out": every 4th produce for a while.
	n := 0
	tg.Embedded.Fake().Fault(kfake.Fault{
		Keys:  []kmsg.Key{kmsg.Produce},
		Topic: topic,
		Err:   kerr.RequestTimedOut,
		Count: -1,
		When:  func(kmsg.Request) bool { n++; return n%4 == 0 && n < 200 },
	})
	w := c.NewWriter(nil, bus.WithBatch(50, time.Millisecond))
	defer w.Close()
	produce(t, w, topic, 0, 5000, 100)

	chk := newChecker()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error {
		// Order is not checked here: a retried batch may interleave.
		n := binary.BigEndian.Uint64(m.Value[8:])
		chk.mu.Lock()
		defer chk.mu.Unlock()
		if chk.seen[n] {
			chk.dups++
		}
		chk.seen[n] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := len(chk.seen); got != 5000 {
		t.Fatalf("%d distinct records arrived, want 5000: records were lost", got)
	}
	if chk.dups == 0 {
		t.Fatal("no duplicate after injected timeouts: the fault did not fire, the test proves nothing")
	}
	t.Logf("%d duplicates out of 5000 records with one produce in four timed out", chk.dups)
}

// Missing rights must come back as ErrNotAuthorized naming the broker, not
// as a hang or a generic error.
func TestMissingTopicRights(t *testing.T) {
	fake, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.EnableSASL(),
		kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin"),
		kfake.User("PLAIN", "clerk", "secret", kfake.ACL{
			Resource: kmsg.ACLResourceTypeTopic, Name: "*", Pattern: kmsg.ACLResourcePatternTypeLiteral,
			Operation: kmsg.ACLOperationDescribe, Allow: true,
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	addr := fake.ListenAddrs()[0]

	for _, tc := range []struct {
		name, user, pass string
		want             error
	}{
		{"no create right", "clerk", "secret", bus.ErrNotAuthorized},
		// Real Kafka answers a bad password with SASL_AUTHENTICATION_FAILED;
		// kfake closes the connection instead, which kafka-go sees as EOF.
		// Either way the caller learns at once, with the broker named.
		{"wrong password", "clerk", "nope", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := bus.New(bus.Config{Brokers: []string{addr}, SASL: &bus.SASLConfig{Mechanism: "PLAIN", Username: tc.user, Password: config.SecretValue(tc.pass)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = c.EnsureTopics(ctx, bus.TopicSpec{Name: "passerelle.tax.household.v1", Partitions: 1, Cleanup: bus.CleanupCompact})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), addr) {
				t.Errorf("error does not name the broker %s: %v", addr, err)
			}
		})
	}
}

// The demo's log lives under --data and must survive a restart.
func TestEmbeddedDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	start := func() (*bus.Embedded, *bus.Client) {
		e, err := bus.StartEmbedded(bus.EmbeddedOptions{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		c, err := bus.New(bus.Config{Brokers: []string{e.Addr()}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e, c
	}
	e, c := start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.EnsureTopics(ctx, domains.Topics(2)...); err != nil {
		t.Fatal(err)
	}
	topic := bus.DomainTopic("tax", "household", 1)
	w := c.NewWriter(nil)
	produce(t, w, topic, 0, 500, 100)
	w.Close()
	c.Close()
	e.Close()

	e, c = start()
	defer e.Close()
	defer c.Close()
	chk := newChecker()
	if err := c.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error { chk.add(t, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := chk.count(); got != 500 {
		t.Fatalf("%d records after restart, want 500", got)
	}
}

// A long-lived client rebuilding state after the broker restarted: kafka-go
// answers the first request on its stale pooled connection with UNKNOWN;
// Replay must get past it.
func TestReplayAfterBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	e, err := bus.StartEmbedded(bus.EmbeddedOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := e.Addr()
	c, err := bus.New(bus.Config{Brokers: []string{addr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := bustest.Topic(t, c, 2)
	w := c.NewWriter(nil)
	produce(t, w, topic, 0, 100, 50)
	w.Close()
	e.Close()
	if e, err = bus.StartEmbedded(bus.EmbeddedOptions{Listen: addr, DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	chk := newChecker()
	if err := c.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error { chk.add(t, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if chk.count() != 100 {
		t.Fatalf("%d records after the restart, want 100", chk.count())
	}
}
