package bus_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
)

const benchRecordBytes = 300

func benchTargets(b *testing.B, fn func(b *testing.B, tg bustest.Target)) {
	b.Run("embedded", func(b *testing.B) { fn(b, bustest.Embedded(b)) })
	b.Run("kafka", func(b *testing.B) { fn(b, bustest.Real(b)) })
}

func benchRecords(topic string, n int) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		v := make([]byte, benchRecordBytes)
		rand.Read(v)
		msgs[i] = kafka.Message{Topic: topic, Key: fmt.Appendf(nil, "citizen-%07d", i), Value: v}
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
