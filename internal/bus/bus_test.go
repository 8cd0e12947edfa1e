package bus_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/config"
)

const (
	numKeys = 1000
	sigHdr  = "passerelle-sig"
)

// record builds the n-th record: key k<n mod numKeys>, a value carrying the
// per-key sequence number, and a header that must survive untouched.
func record(topic string, n int) bus.Message {
	key := fmt.Sprintf("k%04d", n%numKeys)
	val := make([]byte, 16)
	binary.BigEndian.PutUint64(val, uint64(n/numKeys))
	binary.BigEndian.PutUint64(val[8:], uint64(n))
	return bus.Message{
		Topic:   topic,
		Key:     []byte(key),
		Value:   val,
		Headers: []bus.Header{{Key: sigHdr, Value: []byte("sig-" + key)}, {Key: "empty", Value: []byte{}}},
	}
}

func produce(t *testing.T, w *bus.Writer, topic string, from, to, batch int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	msgs := make([]bus.Message, 0, batch)
	for n := from; n < to; n++ {
		msgs = append(msgs, record(topic, n))
		if len(msgs) == batch || n == to-1 {
			if err := w.Write(ctx, msgs...); err != nil {
				t.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
}

// checker verifies what a consumer saw: every record once, per-key order,
// headers intact.
type checker struct {
	mu      sync.Mutex
	seen    map[uint64]bool
	lastSeq map[string]int64
	dups    int
}

func newChecker() *checker {
	return &checker{seen: map[uint64]bool{}, lastSeq: map[string]int64{}}
}

func (c *checker) add(t testing.TB, m bus.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(m.Value) != 16 {
		t.Errorf("value of %d bytes at offset %d", len(m.Value), m.Offset)
		return
	}
	seq := int64(binary.BigEndian.Uint64(m.Value))
	n := binary.BigEndian.Uint64(m.Value[8:])
	key := string(m.Key)
	if c.seen[n] {
		c.dups++
		return
	}
	c.seen[n] = true
	if last, ok := c.lastSeq[key]; ok && seq <= last {
		t.Errorf("key %s: sequence %d after %d: per-key order broken", key, seq, last)
	}
	c.lastSeq[key] = seq
	if len(m.Headers) != 2 || m.Headers[0].Key != sigHdr || string(m.Headers[0].Value) != "sig-"+key || m.Headers[1].Key != "empty" || len(m.Headers[1].Value) != 0 {
		t.Errorf("record %d: headers changed: %v", n, m.Headers)
	}
}

func (c *checker) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func TestProduceConsume100k(t *testing.T) {
	const total = 100_000
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		c := tg.Client(t)
		topic := bustest.Topic(t, c, 6)
		w := c.NewWriter(nil)
		defer w.Close()
		produce(t, w, topic, 0, total, 5000)

		r, err := c.NewGroupReader("g-"+topic, []string{topic}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		chk := newChecker()
		for chk.count() < total {
			m, err := r.Fetch(ctx)
			if err != nil {
				t.Fatalf("after %d records: %v", chk.count(), err)
			}
			chk.add(t, m)
		}
		if chk.dups != 0 {
			t.Errorf("%d duplicates without any fault", chk.dups)
		}
	})
}

func TestGroupResumesFromCommittedOffset(t *testing.T) {
	const total, first = 2000, 700
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		c := tg.Client(t)
		topic := bustest.Topic(t, c, 3)
		w := c.NewWriter(nil)
		defer w.Close()
		produce(t, w, topic, 0, total, 500)
		group := "g-" + topic
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()

		committed := map[uint64]bool{}
		r, err := c.NewGroupReader(group, []string{topic}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for len(committed) < first {
			m, err := r.Fetch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Commit(ctx, m); err != nil {
				t.Fatal(err)
			}
			committed[binary.BigEndian.Uint64(m.Value[8:])] = true
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}

		// A new member of the same group must start after the commits:
		// nothing committed comes back, nothing else is missing.
		r2, err := c.NewGroupReader(group, []string{topic}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Close()
		rest := map[uint64]bool{}
		for len(committed)+len(rest) < total {
			m, err := r2.Fetch(ctx)
			if err != nil {
				t.Fatalf("after %d+%d records: %v", len(committed), len(rest), err)
			}
			n := binary.BigEndian.Uint64(m.Value[8:])
			if committed[n] {
				t.Fatalf("record %d was committed yet delivered again at %s/%d@%d", n, m.Topic, m.Partition, m.Offset)
			}
			rest[n] = true
		}
	})
}

func TestReplayCatchesUpAndFollows(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		c := tg.Client(t)
		topic := bustest.Topic(t, c, 4)
		w := c.NewWriter(nil)
		defer w.Close()
		produce(t, w, topic, 0, 3000, 1000)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		chk := newChecker()
		if err := c.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error { chk.add(t, m); return nil }); err != nil {
			t.Fatal(err)
		}
		if got := chk.count(); got != 3000 {
			t.Fatalf("replay returned after %d records, want 3000", got)
		}

		// Follow: catch up, then see records written afterwards.
		fctx, fcancel := context.WithCancel(ctx)
		caught := make(chan struct{})
		follow := newChecker()
		done := make(chan error, 1)
		go func() {
			done <- c.Replay(fctx, topic, bus.ReplayOptions{Follow: true, CaughtUp: func() { close(caught) }},
				func(m bus.Message) error {
					follow.add(t, m)
					if follow.count() == 3500 {
						fcancel()
					}
					return nil
				})
		}()
		select {
		case <-caught:
		case <-ctx.Done():
			t.Fatal("replay never caught up")
		}
		produce(t, w, topic, 3000, 3500, 100)
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("follow ended with %v after %d records", err, follow.count())
		}
	})
}

func TestReplayResumes(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		c := tg.Client(t)
		topic := bustest.Topic(t, c, 2)
		w := c.NewWriter(nil)
		defer w.Close()
		produce(t, w, topic, 0, 200, 100)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var mu sync.Mutex
		first := map[int]int64{} // the lowest offset read per partition
		ends := map[int]int64{}
		err := c.Replay(ctx, topic, bus.ReplayOptions{From: map[int]int64{0: 10}}, func(m bus.Message) error {
			mu.Lock()
			defer mu.Unlock()
			if o, ok := first[m.Partition]; !ok || m.Offset < o {
				first[m.Partition] = m.Offset
			}
			ends[m.Partition] = max(ends[m.Partition], m.Offset+1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if first[0] != 10 || first[1] != 0 {
			t.Fatalf("first offsets read: %v, want partition 0 from 10 and partition 1 from 0", first)
		}
		err = c.Replay(ctx, topic, bus.ReplayOptions{From: map[int]int64{0: ends[0] + 1}}, func(bus.Message) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "beyond the partition's end") {
			t.Fatalf("resuming beyond the end: got %v", err)
		}
	})
}

// Produce puts its records on the one partition named, in order, as they
// were given, each stamped; a partition that does not exist is an error.
func TestProduceToOnePartition(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		c := tg.Client(t)
		topic := bustest.Topic(t, c, 3)
		w := c.NewWriter(nil)
		defer w.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		before := time.Now().Add(-time.Second)
		var msgs []bus.Message
		for i := range 3 {
			msgs = append(msgs, bus.Message{Key: []byte(fmt.Sprint("k", i)), Value: []byte(fmt.Sprint("v", i)),
				Headers: []bus.Header{{Key: "h", Value: []byte(fmt.Sprint(i))}}})
		}
		msgs[2].Value = nil // a tombstone stays one
		for i := range 2 {
			p, err := w.Produce(ctx, topic, 2, msgs...)
			if err != nil {
				t.Fatal(err)
			}
			// The audit log orders its claims by these offsets.
			if p.BaseOffset != int64(3*i) || p.Retried {
				t.Fatalf("call %d: produced %+v, want base offset %d, not retried", i, p, 3*i)
			}
		}
		var got []bus.Message
		err := c.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error {
			got = append(got, m)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 6 {
			t.Fatalf("read %d records, want 6", len(got))
		}
		for i, m := range got {
			want := msgs[i%3]
			if m.Partition != 2 || m.Offset != int64(i) || string(m.Key) != string(want.Key) ||
				(m.Value == nil) != (want.Value == nil) || string(m.Value) != string(want.Value) ||
				len(m.Headers) != 1 || string(m.Headers[0].Value) != string(want.Headers[0].Value) || m.Time.Before(before) {
				t.Fatalf("record %d: partition %d offset %d key %q value %q headers %v at %s, want %q %q %v on partition 2 at offset %d",
					i, m.Partition, m.Offset, m.Key, m.Value, m.Headers, m.Time, want.Key, want.Value, want.Headers, i)
			}
		}
		if _, err := w.Produce(ctx, topic, 7, msgs...); err == nil {
			t.Fatal("producing to partition 7 of 3: no error")
		}
	})
}

func TestReplayEmptyTopic(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		c := tg.Client(t)
		topic := bustest.Topic(t, c, 2)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		called := false
		err := c.Replay(ctx, topic, bus.ReplayOptions{CaughtUp: func() { called = true }}, func(bus.Message) error {
			t.Error("no record expected")
			return nil
		})
		if err != nil || !called {
			t.Fatalf("err=%v caughtUp=%v", err, called)
		}
	})
}

func TestEnsureTopics(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		c := tg.Client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		specs := append(bus.DomainTopics(bus.DomainTopic("tax", "household", 1), bus.DLQTopic("tax"), bus.KeyTopic("tax"), 3), bus.FixedTopics(3)...)
		// Twice: the second call finds them all and must not fail.
		for range 2 {
			if err := c.EnsureTopics(ctx, specs...); err != nil {
				t.Fatal(err)
			}
		}
		n, err := c.Partitions(ctx, bus.TopicAudit)
		if err != nil || n != 1 {
			t.Fatalf("audit topic: %d partitions, %v", n, err)
		}
		if _, err := c.Partitions(ctx, "passerelle.nope.v1"); !errors.Is(err, bus.ErrTopicMissing) {
			t.Fatalf("missing topic: got %v, want ErrTopicMissing", err)
		}
	})
}

func TestTopicNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{bus.DomainTopic("tax", "household", 1), "passerelle.tax.household.v1"},
		{bus.DLQTopic("health"), "passerelle.dlq.health"},
		{bus.KeyTopic("health"), "passerelle.keys.health.v1"},
		{bus.TopicConsent, "passerelle.consent.v1"},
		{bus.TopicAudit, "passerelle.audit.v1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	specs := bus.DomainTopics("passerelle.tax.household.v1", "passerelle.dlq.tax", "passerelle.keys.tax.v1", 3)
	if len(specs) != 3 || specs[0].Cleanup != bus.CleanupCompact || specs[1].Cleanup != bus.CleanupDelete || !specs[1].KeepForever ||
		specs[2].Cleanup != bus.CleanupCompact || specs[2].Partitions != 1 {
		t.Errorf("a domain's topics: %+v; want the compacted topic, its dead letters kept forever, and its keys compacted on one partition", specs)
	}
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  bus.Config
		want string
	}{
		{"no brokers", bus.Config{}, "brokers: at least one"},
		{"no port", bus.Config{Brokers: []string{"localhost"}}, `brokers[0] "localhost"`},
		{"bad port", bus.Config{Brokers: []string{"a:1", "b:99999"}}, `brokers[1] "b:99999"`},
		{"bad port in a list", bus.Config{Brokers: []string{"a:1, b:99999"}}, `brokers[1] "b:99999"`},
		{"an empty list", bus.Config{Brokers: []string{" , "}}, "brokers: at least one"},
		{"sasl", bus.Config{Brokers: []string{"a:1"}, SASL: &bus.SASLConfig{Mechanism: "GSSAPI", Username: "u"}}, "sasl.mechanism"},
		{"sasl without password", bus.Config{Brokers: []string{"a:1"}, SASL: &bus.SASLConfig{Mechanism: "PLAIN", Username: "u"}}, "sasl.password: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bus.New(tc.cfg, nil)
			if !errors.Is(err, bus.ErrBadConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBadConfig naming %q", err, tc.want)
			}
		})
	}
}

// The SASL password is a config.Secret: in a file, ${VAR} or file:PATH.
func TestSASLPasswordInYAML(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_KAFKA_PW", "hunter2")
	for _, tc := range []struct{ name, password, err string }{
		{"env", "${PASSERELLE_TEST_KAFKA_PW}", ""},
		{"literal", "hunter2", "sasl.password: a secret must be ${VAR} or file:PATH"},
		{"default", "${PASSERELLE_UNSET_KAFKA_PW:hunter2}", "sasl.password: a secret's ${VAR} takes no default"},
		{"absent", "", "sasl.password: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg bus.Config
			err := config.Decode([]byte("brokers: [\"a:1\"]\nsasl:\n  mechanism: PLAIN\n  username: u\n  password: \""+tc.password+"\"\n"), &cfg)
			switch {
			case tc.err == "" && (err != nil || cfg.SASL.Password.Value() != "hunter2"):
				t.Fatalf("got %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}

func TestUnreachableBrokerFailsFast(t *testing.T) {
	c, err := bus.New(bus.Config{Brokers: []string{"127.0.0.1:1", "127.0.0.1:2"}, DialTimeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = c.Ping(context.Background())
	if !errors.Is(err, bus.ErrBrokerUnreachable) {
		t.Fatalf("got %v, want ErrBrokerUnreachable", err)
	}
	for _, b := range []string{"127.0.0.1:1", "127.0.0.1:2"} {
		if !strings.Contains(err.Error(), "broker "+b) {
			t.Errorf("error does not name %s: %v", b, err)
		}
	}
	// Generous bound: this guards against a hang, not a slowness.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Ping took %s", d)
	}
}
