package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
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
	direct  *kafka.Client // for Produce
	metrics *Metrics
	// refusal names what failed, and who was refused what.
	refusal func(ctx context.Context, op, topic string, err error) error
}

// WriterOption adjusts a Writer.
type WriterOption interface{ apply(*kafka.Writer) }

type writerOption func(*kafka.Writer)

func (o writerOption) apply(w *kafka.Writer) { o(w) }

// Balancer chooses the partition of a record being written among the
// partitions its topic has.
type Balancer interface {
	Balance(m Message, partitions ...int) int
}

// WithBalancer chooses partitions. The default is Kafka's own murmur2 on the
// key, so that Java producers and ours agree on where a key lives.
func WithBalancer(b Balancer) WriterOption {
	return writerOption(func(w *kafka.Writer) {
		w.Balancer = kafka.BalancerFunc(func(m kafka.Message, partitions ...int) int { return b.Balance(fromKafka(m), partitions...) })
	})
}

// WithBatch sets the batch size in records and the time a partial batch may
// wait.
func WithBatch(size int, timeout time.Duration) WriterOption {
	return writerOption(func(w *kafka.Writer) { w.BatchSize, w.BatchTimeout = size, timeout })
}

// WithMaxAttempts sets how many times a failed produce is tried.
func WithMaxAttempts(n int) WriterOption {
	return writerOption(func(w *kafka.Writer) { w.MaxAttempts = n })
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
		o.apply(w)
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	return &Writer{w: w, direct: c.admin, metrics: metrics, refusal: c.refusal}
}

// Write blocks until every record is acknowledged by all in-sync replicas,
// or returns the error of the first that was not. On error some records may
// have been written: callers retry the whole call and rely on record ids to
// recognise duplicates. Records must name their Topic.
func (w *Writer) Write(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	start := time.Now()
	km := kafkaMessages.Get().(*[]kafka.Message)
	for _, m := range msgs {
		*km = append(*km, toKafka(m))
	}
	err := w.w.WriteMessages(ctx, *km...)
	// WriteMessages keeps copies of the records it still sends, not the
	// slice: once it returns, the slice is free again. Cleared, it holds
	// on to no caller's bytes while it waits in the pool.
	clear(*km)
	*km = (*km)[:0]
	kafkaMessages.Put(km)
	w.observe(start, "", msgs, err)
	if err != nil {
		return w.refusal(ctx, fmt.Sprintf("write %d records to %s", len(msgs), msgs[0].Topic), msgs[0].Topic, err)
	}
	return nil
}

// kafkaMessages holds the slices Write converts its records into: a
// connector writing batches of thousands would otherwise allocate one each
// time.
var kafkaMessages = sync.Pool{New: func() any { return new([]kafka.Message) }}

// observe counts one call's records, bytes and time, or its failure;
// topic, if not empty, is where all of msgs went, else each names its own.
func (w *Writer) observe(start time.Time, topic string, msgs []Message, err error) {
	w.metrics.produceTime.Observe(time.Since(start).Seconds())
	topicOf := func(m Message) string {
		if topic != "" {
			return topic
		}
		return m.Topic
	}
	if err != nil {
		w.metrics.produceErrors.WithLabelValues(topicOf(msgs[0])).Inc()
		return
	}
	for _, m := range msgs {
		w.metrics.produced.WithLabelValues(topicOf(m)).Inc()
		w.metrics.producedBytes.WithLabelValues(topicOf(m)).Add(float64(len(m.Key) + len(m.Value)))
	}
}

// Produce writes msgs to one partition of topic in one produce request,
// acks=all, and returns once every in-sync replica has them. It skips
// Write's batching, which a caller gathering its own batches (the audit
// log's group commit) would pay for twice: through kafka-go's Writer, five
// records cost 154-176 µs of CPU and 570-880 µs of waiting; in one
// request, 59-73 µs and 218-242 µs. A temporary error (a leader moving, a
// connection dropped) is tried again, up to DefaultMaxAttempts while ctx
// lasts, waiting longer each time: the nine waits span the transport's
// metadata lifetime, so a moved leader is found. As with Write, records
// may then have been written twice: Produced says so.
func (w *Writer) Produce(ctx context.Context, topic string, partition int, msgs ...Message) (Produced, error) {
	if len(msgs) == 0 {
		return Produced{BaseOffset: -1}, nil
	}
	start := time.Now()
	p, err := w.produce(ctx, topic, partition, msgs)
	w.observe(start, topic, msgs, err)
	if err != nil {
		return p, w.refusal(ctx, fmt.Sprintf("write %d records to %s[%d]", len(msgs), topic, partition), topic, err)
	}
	return p, nil
}

// Produced is where the records of one Produce call landed.
type Produced struct {
	// BaseOffset is the offset of the first record; the others follow it
	// with no other record between them.
	BaseOffset int64
	// Retried: an attempt before the one that succeeded failed after its
	// request was sent, so copies of the records may sit before
	// BaseOffset, at offsets nobody was told.
	Retried bool
}

func (w *Writer) produce(ctx context.Context, topic string, partition int, msgs []Message) (Produced, error) {
	now := time.Now()
	recs := make([]kafka.Record, len(msgs))
	landed := false // an attempt failed in a way that may have written it
	for attempt := 1; ; attempt++ {
		// A failed attempt may have read the records' bytes: each
		// attempt sends new readers of them.
		for i, m := range msgs {
			at := m.Time
			if at.IsZero() {
				at = now // as kafka-go's Writer stamps them
			}
			recs[i] = kafka.Record{Time: at, Headers: toKafkaHeaders(m.Headers)}
			if m.Key != nil {
				recs[i].Key = kafka.NewBytes(m.Key)
			}
			if m.Value != nil {
				recs[i].Value = kafka.NewBytes(m.Value)
			}
		}
		resp, err := w.direct.Produce(ctx, &kafka.ProduceRequest{Topic: topic, Partition: partition,
			RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(recs...)})
		if err == nil {
			err = resp.Error
		}
		if err == nil {
			return Produced{BaseOffset: resp.BaseOffset, Retried: landed}, nil
		}
		landed = landed || mayHaveLanded(err)
		if attempt >= DefaultMaxAttempts || !retriable(err) {
			return Produced{BaseOffset: -1, Retried: landed}, err
		}
		select {
		case <-ctx.Done():
			return Produced{BaseOffset: -1, Retried: landed}, fmt.Errorf("%w (after %d attempts: %w)", ctx.Err(), attempt, err)
		case <-time.After(min(time.Duration(attempt)*50*time.Millisecond, time.Second)):
		}
	}
}

// retriable: the broker said to try again, or the connection broke in the
// middle of a request. A broker that refuses connections is not: its
// callers would rather know now.
func retriable(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// mayHaveLanded: a produce that failed so may still have appended its
// records. The partition's leader refuses before appending when it is not
// the leader or lacks replicas; a lost connection or a timeout says
// nothing either way.
func mayHaveLanded(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafka.NotLeaderForPartition, kafka.UnknownTopicOrPartition, kafka.LeaderNotAvailable, kafka.NotEnoughReplicas,
			kafka.MessageSizeTooLarge, kafka.InvalidTopic, kafka.TopicAuthorizationFailed, kafka.InvalidMessage:
			return false
		}
	}
	return true
}

// Close flushes and releases the writer.
func (w *Writer) Close() error { return w.w.Close() }

// ByPartition is a balancer for callers that choose partitions themselves,
// in Message.Partition: Passerelle routes a citizen's records to the same
// partition number in every domain, from a routing pseudonym the key does
// not reveal. kafka-go ignores a record's partition when writing but hands
// the record, partition included, to the balancer, which is what makes
// this work.
type ByPartition struct{}

// Balance implements [Balancer].
func (ByPartition) Balance(msg Message, partitions ...int) int {
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

var _ Balancer = ByPartition{}
