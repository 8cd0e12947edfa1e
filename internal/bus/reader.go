package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Reader defaults.
const (
	DefaultMaxWait        = 250 * time.Millisecond
	DefaultMaxBytes       = 10 << 20
	DefaultSessionTimeout = 10 * time.Second
)

// GroupReader consumes topics as a member of a consumer group. Offsets are
// committed only when the caller says so, after it has done its work, so a
// crash re-delivers rather than loses.
type GroupReader struct {
	r       *kafka.Reader
	metrics *Metrics
}

// NewGroupReader joins group on the given topics. A group with no committed
// offset starts at the beginning of each partition.
func (c *Client) NewGroupReader(group string, topics []string, metrics *Metrics) (*GroupReader, error) {
	if group == "" {
		return nil, fmt.Errorf("%w: group: required", ErrBadConfig)
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("%w: topics: at least one is required", ErrBadConfig)
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:          c.cfg.Brokers,
		GroupID:          group,
		GroupTopics:      topics,
		Dialer:           c.dialer(),
		MinBytes:         1,
		MaxBytes:         DefaultMaxBytes,
		MaxWait:          DefaultMaxWait,
		StartOffset:      kafka.FirstOffset,
		CommitInterval:   0, // synchronous: Commit returns once the broker has the offset
		SessionTimeout:   DefaultSessionTimeout,
		JoinGroupBackoff: 500 * time.Millisecond,
		ErrorLogger:      kafka.LoggerFunc(func(msg string, args ...any) { c.log.Debug(fmt.Sprintf(msg, args...)) }),
	})
	return &GroupReader{r: r, metrics: metrics}, nil
}

// Fetch returns the next record of the group's partitions, in offset order
// within each partition.
func (g *GroupReader) Fetch(ctx context.Context) (Message, error) {
	m, err := g.r.FetchMessage(ctx)
	if err != nil {
		return Message{}, fmt.Errorf("fetch: %w", err)
	}
	g.metrics.consumed.WithLabelValues(m.Topic).Inc()
	return fromKafka(m), nil
}

// Commit records msgs as processed for the group.
func (g *GroupReader) Commit(ctx context.Context, msgs ...Message) error {
	// A commit needs only where each record was; the usual one or few fit
	// on the stack.
	var buf [8]kafka.Message
	km := buf[:0]
	for _, m := range msgs {
		km = append(km, kafka.Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset})
	}
	if err := g.r.CommitMessages(ctx, km...); err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	return nil
}

// Close leaves the group.
func (g *GroupReader) Close() error { return g.r.Close() }

// ReplayOptions adjust [Client.Replay].
type ReplayOptions struct {
	// Follow keeps reading new records after the replay has caught up,
	// until ctx ends.
	Follow bool
	// CaughtUp, if set, is called once every partition has been read up to
	// the high watermark it had when Replay started.
	CaughtUp func()
	// MinBytes and MaxWait shape the fetches of a follower: the broker
	// answers once MinBytes are there or MaxWait has passed. A follower
	// that can lag a little asks for more at a time, and costs the broker
	// one fetch per batch of writes rather than one per write. Zero keeps
	// 1 byte and DefaultMaxWait.
	MinBytes int
	MaxWait  time.Duration
	// From resumes partitions at the offsets a caller has already read
	// up to, instead of at their first record. An offset beyond the
	// partition's end is an error: the caller's state is of another topic.
	From map[int]int64
}

// Replay reads a topic from the beginning of every partition, outside any
// consumer group, to rebuild state. fn is called from one goroutine per
// partition, in offset order within a partition; it must be safe for
// concurrent use. An error from fn stops the replay and is returned.
// Without Follow, Replay returns nil once it has caught up.
func (c *Client) Replay(ctx context.Context, topic string, opts ReplayOptions, fn func(Message) error) error {
	n, err := c.Partitions(ctx, topic)
	if err != nil {
		return err
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for p := range n {
		req.Topics[topic] = append(req.Topics[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := c.listOffsets(ctx, req, topic)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		pending  = n
	)
	caughtUp := func() {
		mu.Lock()
		defer mu.Unlock()
		if pending--; pending == 0 && opts.CaughtUp != nil {
			opts.CaughtUp()
		}
	}
	for _, po := range offs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.replayPartition(ctx, topic, po, opts, caughtUp, fn)
			if err != nil && !errors.Is(err, context.Canceled) {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if opts.Follow {
		return ctx.Err()
	}
	return nil
}

// HighWatermark is the offset the next record of a partition will get:
// a reader that has read up to it has read every acknowledged record.
func (c *Client) HighWatermark(ctx context.Context, topic string, partition int) (int64, error) {
	offs, err := c.listOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.LastOffsetOf(partition)}}}, topic)
	if err != nil {
		return 0, err
	}
	for _, po := range offs {
		if po.Partition == partition {
			return po.LastOffset, nil
		}
	}
	return 0, fmt.Errorf("high watermark of %s/%d: no answer for the partition", topic, partition)
}

// ReadAt returns the record at offset of a partition: the index of a view
// or of the audit trail keeps positions, not copies, and reads the bytes
// back when someone must see them exactly as written.
func (c *Client) ReadAt(ctx context.Context, topic string, partition int, offset int64) (Message, error) {
	r := c.partitionReader(topic, partition, 1, DefaultMaxWait)
	defer r.Close()
	if err := r.SetOffset(offset); err != nil {
		return Message{}, fmt.Errorf("read %s/%d@%d: %w", topic, partition, offset, err)
	}
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return Message{}, fmt.Errorf("read %s/%d@%d: %w", topic, partition, offset, err)
	}
	if m.Offset != offset {
		return Message{}, fmt.Errorf("read %s/%d@%d: the broker answered offset %d", topic, partition, offset, m.Offset)
	}
	return fromKafka(m), nil
}

// listOffsets retries while a partition's leadership moves: right after a
// topic is created, or during a broker restart, a partition may briefly
// have no leader, and that is not a reason to fail a rebuild. It also
// retries a few times on UNKNOWN and BROKER_NOT_AVAILABLE: kafka-go
// reports the first request on a pooled connection to a broker that has
// restarted, or was frozen, as one of those, and the next one, on a new
// connection, succeeds.
func (c *Client) listOffsets(ctx context.Context, req *kafka.ListOffsetsRequest, topic string) ([]kafka.PartitionOffsets, error) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp, err := c.admin.ListOffsets(ctx, req)
		if err == nil {
			err = errors.Join(partitionErrors(resp.Topics[topic])...)
			if err == nil {
				return resp.Topics[topic], nil
			}
		}
		// A broker thawed from a freeze, or restarting, answers "not
		// available" for a few seconds on a loaded machine: worth the wait
		// (about 6 s), not a failure of the caller's request.
		var kerr kafka.Error
		retriable := errors.As(err, &kerr) && (kerr.Temporary() || (kerr == kafka.Unknown || kerr == kafka.BrokerNotAvailable) && attempt < 10)
		if !retriable {
			return nil, c.refusal(ctx, "list offsets of "+topic, topic, err)
		}
		select {
		case <-ctx.Done():
			return nil, c.classify("list offsets of "+topic, err)
		case <-time.After(backoff):
			backoff = min(2*backoff, time.Second)
		}
	}
}

func partitionErrors(pos []kafka.PartitionOffsets) []error {
	var errs []error
	for _, po := range pos {
		if po.Error != nil {
			errs = append(errs, po.Error)
		}
	}
	return errs
}

func (c *Client) replayPartition(ctx context.Context, topic string, po kafka.PartitionOffsets, opts ReplayOptions, caughtUp func(), fn func(Message) error) error {
	follow := opts.Follow
	minBytes, maxWait := max(opts.MinBytes, 1), opts.MaxWait
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	end := po.LastOffset // the high watermark: the offset the next record gets
	if from, ok := opts.From[po.Partition]; ok {
		if from > end {
			return fmt.Errorf("replay %s/%d: resume at offset %d, beyond the partition's end %d", topic, po.Partition, from, end)
		}
		po.FirstOffset = max(po.FirstOffset, from)
	}
	if po.FirstOffset >= end {
		caughtUp()
		if !follow {
			return nil
		}
	}
	next := po.FirstOffset
	behind := po.FirstOffset < end
	backoff := followBackoff
	for {
		err := c.readFrom(ctx, topic, po.Partition, minBytes, maxWait, &next, func(m Message) (bool, error) {
			backoff = followBackoff
			if err := fn(m); err != nil {
				return false, &callerError{err}
			}
			if behind && m.Offset+1 >= end {
				behind = false
				caughtUp()
				if !follow {
					return false, nil
				}
			}
			return true, nil
		})
		var ce *callerError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ce):
			return ce.err
		case !follow || ctx.Err() != nil:
			return fmt.Errorf("replay %s/%d: %w", topic, po.Partition, err)
		}
		// A follower outlives a broker that stops answering, restarts or
		// moves the partition's leader: it resumes where it was.
		c.log.Warn("follower lost the partition, resuming", "topic", topic, "partition", po.Partition, "offset", next, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("replay %s/%d: %w", topic, po.Partition, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxFollowBackoff)
	}
}

// Waits of a follower between its attempts to read again.
const (
	followBackoff    = 100 * time.Millisecond
	maxFollowBackoff = 5 * time.Second
)

// callerError is an error of the caller's fn, which stops a replay.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }

// readFrom reads the partition from *next on, advancing it past each
// record fn takes, until fn says stop or reading fails.
func (c *Client) readFrom(ctx context.Context, topic string, partition, minBytes int, maxWait time.Duration, next *int64, fn func(Message) (bool, error)) error {
	r := c.partitionReader(topic, partition, minBytes, maxWait)
	defer r.Close()
	if err := r.SetOffset(*next); err != nil {
		return err
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return err
		}
		*next = m.Offset + 1
		more, err := fn(fromKafka(m))
		if err != nil || !more {
			return err
		}
	}
}

// partitionReader reads one partition outside any consumer group.
func (c *Client) partitionReader(topic string, partition, minBytes int, maxWait time.Duration) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:   c.cfg.Brokers,
		Topic:     topic,
		Partition: partition,
		Dialer:    c.dialer(),
		MinBytes:  minBytes,
		MaxBytes:  DefaultMaxBytes,
		MaxWait:   maxWait,
	})
}

// Fetch reads the records of one partition from offset on, as many as one
// fetch returns, waiting at most maxWait for the first: a reader that must
// see a given offset now (the audit trail settling a claim) asks for it
// instead of waiting for its follower's next batch. It returns the
// partition's high watermark with them.
func (c *Client) Fetch(ctx context.Context, topic string, partition int, offset int64, maxWait time.Duration) ([]Message, int64, error) {
	resp, err := c.admin.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: partition, Offset: offset,
		MinBytes: 1, MaxBytes: DefaultMaxBytes, MaxWait: maxWait})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return nil, 0, c.refusal(ctx, fmt.Sprintf("fetch %s/%d@%d", topic, partition, offset), topic, err)
	}
	var out []Message
	for {
		r, err := resp.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return out, resp.HighWatermark, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("fetch %s/%d@%d: %w", topic, partition, offset, err)
		}
		if r.Offset < offset {
			continue // a batch may begin before the offset asked for
		}
		// Each record's headers are a slice of their own, which the
		// message may keep.
		m := Message{Topic: topic, Partition: partition, Offset: r.Offset, Time: r.Time, Headers: fromKafkaHeaders(r.Headers)}
		if m.Key, err = readBytes(r.Key); err == nil {
			m.Value, err = readBytes(r.Value)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("fetch %s/%d@%d: %w", topic, partition, offset, err)
		}
		out = append(out, m)
	}
}

// readBytes reads a record's key or value; nil stays nil (a tombstone).
func readBytes(b kafka.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	defer b.Close()
	return kafka.ReadAll(b)
}
