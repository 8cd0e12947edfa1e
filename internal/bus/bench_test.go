package bus_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
)

const benchRecordBytes = 300

func benchTargets(b *testing.B, fn func(b *testing.B, tg bustest.Target)) {
	b.Run("embedded", func(b *testing.B) { fn(b, bustest.Embedded(b)) })
	b.Run("kafka", func(b *testing.B) { fn(b, bustest.Real(b)) })
}

func benchRecords(topic string, n int) []bus.Message {
	msgs := make([]bus.Message, n)
	for i := range msgs {
		v := make([]byte, benchRecordBytes)
		rand.Read(v)
		msgs[i] = bus.Message{Topic: topic, Key: fmt.Appendf(nil, "citizen-%07d", i), Value: v}
	}
	return msgs
}

// BenchmarkProduce writes 300-byte records with acks=all, 1000 per call.
func BenchmarkProduce(b *testing.B) {
	benchTargets(b, func(b *testing.B, tg bustest.Target) {
		c := tg.Client(b)
		topic := bustest.Topic(b, c, 6)
		w := c.NewWriter(nil)
		defer w.Close()
		batch := benchRecords(topic, 1000)
		ctx := context.Background()
		b.SetBytes(benchRecordBytes)
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i += len(batch) {
			n := min(len(batch), b.N-i)
			if err := w.Write(ctx, batch[:n]...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
}

// BenchmarkConsume reads 300-byte records through a consumer group.
func BenchmarkConsume(b *testing.B) {
	benchTargets(b, func(b *testing.B, tg bustest.Target) {
		c := tg.Client(b)
		topic := bustest.Topic(b, c, 6)
		w := c.NewWriter(nil)
		defer w.Close()
		ctx := context.Background()
		batch := benchRecords(topic, 1000)
		for i := 0; i < b.N; i += len(batch) {
			if err := w.Write(ctx, batch[:min(len(batch), b.N-i)]...); err != nil {
				b.Fatal(err)
			}
		}
		r, err := c.NewGroupReader("bench-"+topic, []string{topic}, bus.NewMetrics(nil))
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		b.SetBytes(benchRecordBytes)
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if _, err := r.Fetch(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
}

// signedRecords are benchRecords carrying, as every record Passerelle
// writes does, a signature in a header: the conversions of headers are
// part of what the hot paths cost.
func signedRecords(topic string, n int) []bus.Message {
	msgs := benchRecords(topic, n)
	for i := range msgs {
		msgs[i].Headers = []bus.Header{{Key: "passerelle-sig", Value: fmt.Appendf(nil, "sig-%064d", i)}}
	}
	return msgs
}

// BenchmarkReplay rebuilds state from a topic of 6 partitions: what a view
// or the consent journal does at start, at 100k+ records/s. An op is one
// record.
func BenchmarkReplay(b *testing.B) {
	benchTargets(b, func(b *testing.B, tg bustest.Target) {
		c := tg.Client(b)
		topic := bustest.Topic(b, c, 6)
		w := c.NewWriter(nil)
		defer w.Close()
		ctx := context.Background()
		batch := signedRecords(topic, 1000)
		for i := 0; i < b.N; i += len(batch) {
			if err := w.Write(ctx, batch[:min(len(batch), b.N-i)]...); err != nil {
				b.Fatal(err)
			}
		}
		var bytes atomic.Int64
		b.SetBytes(benchRecordBytes)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		if err := c.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error {
			bytes.Add(int64(len(m.Value) + len(m.Headers[0].Value)))
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
}

// BenchmarkProduceGroup writes groups of 16 records to one partition in
// one request, as the audit log's group commit does. An op is one record.
func BenchmarkProduceGroup(b *testing.B) {
	benchTargets(b, func(b *testing.B, tg bustest.Target) {
		c := tg.Client(b)
		topic := bustest.Topic(b, c, 1)
		w := c.NewWriter(nil)
		defer w.Close()
		group := signedRecords("", 16)
		ctx := context.Background()
		b.SetBytes(benchRecordBytes)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i += len(group) {
			if _, err := w.Produce(ctx, topic, 0, group[:min(len(group), b.N-i)]...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
}

// BenchmarkFetch reads one partition a fetch at a time, as the audit trail
// catching up to an offset does. An op is one record.
func BenchmarkFetch(b *testing.B) {
	benchTargets(b, func(b *testing.B, tg bustest.Target) {
		c := tg.Client(b)
		topic := bustest.Topic(b, c, 1)
		w := c.NewWriter(nil)
		defer w.Close()
		ctx := context.Background()
		batch := signedRecords(topic, 1000)
		for i := 0; i < b.N; i += len(batch) {
			if err := w.Write(ctx, batch[:min(len(batch), b.N-i)]...); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(benchRecordBytes)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for next := int64(0); next < int64(b.N); {
			msgs, _, err := c.Fetch(ctx, topic, 0, next, time.Second)
			if err != nil {
				b.Fatal(err)
			}
			next += int64(len(msgs))
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
}
