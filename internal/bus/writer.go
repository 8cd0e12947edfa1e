package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Writer defaults. The batch timeout is the latency floor of a partial
// batch: kafka-go's own default of one second would make every small
// synchronous write take a second.
const (
	DefaultBatchSize    = 1000
	DefaultBatchBytes   = 1 << 20
	DefaultBatchTimeout = 2 * time.Millisecond
	DefaultMaxAttempts  = 10
	DefaultWriteTimeout = 10 * time.Second
)

// Writer produces records synchronously with acks=all. Records may go to
// any topic; keys, values and headers are written exactly as given.
type Writer struct {
	w       *kafka.Writer
	metrics *Metrics
}

// WriterOption adjusts a Writer.
type WriterOption func(*kafka.Writer)

// WithBalancer chooses partitions. The default is Kafka's own murmur2 on the
// key, so that Java producers and ours agree on where a key lives.
func WithBalancer(b kafka.Balancer) WriterOption {
	return func(w *kafka.Writer) { w.Balancer = b }
}

// WithBatch sets the batch size in records and the time a partial batch may
// wait.
func WithBatch(size int, timeout time.Duration) WriterOption {
	return func(w *kafka.Writer) { w.BatchSize, w.BatchTimeout = size, timeout }
}

// WithMaxAttempts sets how many times a failed produce is tried.
func WithMaxAttempts(n int) WriterOption {
	return func(w *kafka.Writer) { w.MaxAttempts = n }
}

// NewWriter returns a writer; it connects lazily. A nil metrics is allowed.
func (c *Client) NewWriter(metrics *Metrics, opts ...WriterOption) *Writer {
	w := &kafka.Writer{
		Addr:         kafka.TCP(c.cfg.Brokers...),
		Balancer:     &kafka.Murmur2Balancer{Consistent: true},
		MaxAttempts:  DefaultMaxAttempts,
		BatchSize:    DefaultBatchSize,
		BatchBytes:   DefaultBatchBytes,
		BatchTimeout: DefaultBatchTimeout,
		WriteTimeout: DefaultWriteTimeout,
		RequiredAcks: kafka.RequireAll,
		Transport:    c.transport,
		ErrorLogger:  kafka.LoggerFunc(func(msg string, args ...any) { c.log.Debug(fmt.Sprintf(msg, args...)) }),
	}
	for _, o := range opts {
		o(w)
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	return &Writer{w: w, metrics: metrics}
}

// Write blocks until every record is acknowledged by all in-sync replicas,
// or returns the error of the first that was not. On error some records may
// have been written: callers retry the whole call and rely on record ids to
// recognise duplicates. Records must name their Topic.
func (w *Writer) Write(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	start := time.Now()
	err := w.w.WriteMessages(ctx, msgs...)
	w.metrics.produceTime.Observe(time.Since(start).Seconds())
	if err != nil {
		w.metrics.produceErrors.WithLabelValues(msgs[0].Topic).Inc()
		return fmt.Errorf("write %d records to %s: %w", len(msgs), msgs[0].Topic, err)
	}
	for i := range msgs {
		w.metrics.produced.WithLabelValues(msgs[i].Topic).Inc()
		w.metrics.producedBytes.WithLabelValues(msgs[i].Topic).Add(float64(len(msgs[i].Key) + len(msgs[i].Value)))
	}
	return nil
}

// Close flushes and releases the writer.
func (w *Writer) Close() error { return w.w.Close() }

// ByPartition is a balancer for callers that choose partitions themselves,
// in Message.Partition: Passerelle routes a citizen's records to the same
// partition number in every domain, from a routing pseudonym the key does
// not reveal. kafka-go ignores Message.Partition when writing but hands the
// message to the balancer, which is what makes this work.
type ByPartition struct{}

// Balance implements kafka.Balancer.
func (ByPartition) Balance(msg kafka.Message, partitions ...int) int {
	for _, p := range partitions {
		if p == msg.Partition {
			return p
		}
	}
	// The topic has fewer partitions than the caller thought: stay
	// deterministic rather than fail.
	p := msg.Partition % len(partitions)
	if p < 0 {
		p += len(partitions)
	}
	return partitions[p]
}
