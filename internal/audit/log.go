package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/seal"
)

// ErrUnavailable: the event could not be made durable. The caller must
// release nothing (the gateway answers 503 with Retry-After).
var ErrUnavailable = errors.New("audit log unavailable")

// ErrClosed: the log was closed before the event was written.
var ErrClosed = errors.New("audit log closed")

// Defaults of a Log.
const (
	// DefaultTimeout bounds one group commit: past it, every request of
	// the group is refused rather than kept waiting on a broker that is
	// not answering.
	DefaultTimeout = 5 * time.Second
	// MaxGroup bounds the events of one group commit (one produce request):
	// about 150 KB at 1.2 KB an event, far under the broker's 1 MiB
	// default limit, and 128 events a commit still carry more than 100,000
	// events a second. (Through kafka-go's Writer, which allocated a batch
	// of its full size for every write, it also bounded the garbage.)
	MaxGroup = 128
	// queueDepth is how many requests may wait for the commit in flight.
	queueDepth = 4 * MaxGroup
)

// LogOptions configure a Log.
type LogOptions struct {
	// Topic defaults to passerelle.audit.v1; tests give each run its own.
	Topic   string
	Timeout time.Duration
	Log     *slog.Logger
	// Metrics, if set, registers the log's series.
	Metrics prometheus.Registerer
	// Expect, if set, is told the leaf hashes of each group before it is
	// written: Trail.Expect of the trail following the same topic, which
	// then recognises these events by hash instead of checking their
	// signature again.
	Expect func(writer string, first int64, hashes []tlog.Hash)
}

// Log appends events to the audit topic with a group commit: one goroutine
// writes, and every request that arrives while a write is in flight joins
// the next one, so concurrent requests share a produce request (and one
// signature) without a quiet gateway waiting for company. Writing from one
// goroutine is also what numbers a writer's events in topic order.
type Log struct {
	w       *bus.Writer
	sealer  *seal.Sealer
	o       LogOptions
	queue   chan *pending
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
	m       logMetrics

	// owned by the committing goroutine
	writer string
	seq    int64
}

type pending struct {
	ev   Event
	done chan error
}

// NewWriter returns a bus writer fit for a Log: acks=all. The Log sends
// each group in one produce request of its own (Writer.Produce). What else
// goes through it (checkpoints, consent events) is written one call at a
// time, so a batch leaves as soon as its call returns: kafka-go's own
// batching would only add its timeout.
func NewWriter(c *bus.Client, m *bus.Metrics) *bus.Writer {
	return c.NewWriter(m, bus.WithBatch(MaxGroup, 10*time.Microsecond))
}

// NewLog starts a log writing with w (from NewWriter) and signing each
// group with sealer, the gateway's key. Close stops it.
func NewLog(w *bus.Writer, sealer *seal.Sealer, o LogOptions) *Log {
	if o.Topic == "" {
		o.Topic = bus.TopicAudit
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	l := &Log{w: w, sealer: sealer, o: o, queue: make(chan *pending, queueDepth),
		quit: make(chan struct{}), stopped: make(chan struct{}), m: newLogMetrics(o.Metrics)}
	l.newEpoch()
	go l.run()
	return l
}

// Topic is the topic the log writes.
func (l *Log) Topic() string { return l.o.Topic }

// Append returns once the event is acknowledged by all in-sync replicas,
// or an error wrapping ErrUnavailable (or ErrClosed). ev.Writer and ev.Seq
// are set by the log.
func (l *Log) Append(ctx context.Context, ev Event) error {
	p := &pending{ev: ev, done: make(chan error, 1)}
	select {
	case l.queue <- p:
	case <-l.quit:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	select {
	case err := <-p.done:
		return err
	case <-l.stopped:
		// Enqueued as the log closed, after its last drain.
		select {
		case err := <-p.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		// The event may still be written: the log then holds an access
		// that released nothing, which errs on the side of the citizen.
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// Close stops the log; events not yet written get ErrClosed.
func (l *Log) Close() {
	l.once.Do(func() { close(l.quit) })
	<-l.stopped
}

func (l *Log) run() {
	defer close(l.stopped)
	group := make([]*pending, 0, MaxGroup)
	for {
		select {
		case p := <-l.queue:
			group = append(group[:0], p)
		case <-l.quit:
			l.drain(ErrClosed)
			return
		}
	gather:
		for len(group) < MaxGroup {
			select {
			case p := <-l.queue:
				group = append(group, p)
			default:
				break gather
			}
		}
		err := l.commit(group)
		for _, p := range group {
			p.done <- err
		}
	}
}

func (l *Log) drain(err error) {
	for {
		select {
		case p := <-l.queue:
			p.done <- err
		default:
			return
		}
	}
}

// newEpoch starts a new writer id. After a failed write the log cannot
// know which of its events landed; numbering afresh keeps each writer's
// sequence gap-free, so a gap always means an event was removed.
func (l *Log) newEpoch() {
	b := make([]byte, 8)
	rand.Read(b)
	l.writer, l.seq = hex.EncodeToString(b), 0
}

func (l *Log) commit(group []*pending) error {
	values := make([][]byte, len(group))
	for i, p := range group {
		p.ev.Writer, p.ev.Seq = l.writer, l.seq+int64(i)
		b, err := json.Marshal(p.ev)
		if err != nil {
			return fmt.Errorf("audit: encode event %s: %w", p.ev.ID, err)
		}
		values[i] = b
	}
	if l.o.Expect != nil {
		hashes := make([]tlog.Hash, len(values))
		for i, v := range values {
			hashes[i] = tlog.RecordHash(v)
		}
		l.o.Expect(l.writer, l.seq, hashes)
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.o.Timeout)
	defer cancel()
	err := l.write(ctx, group, values)
	if err != nil {
		l.m.failures.Inc()
		l.o.Log.Error("audit write failed: its requests are refused", "component", "audit", "events", len(group), "err", err)
		l.newEpoch()
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	l.seq += int64(len(group))
	l.m.groupSize.Observe(float64(len(group)))
	for _, p := range group {
		l.m.events.WithLabelValues(p.ev.Kind, p.ev.Decision).Inc()
	}
	return nil
}

func (l *Log) write(ctx context.Context, group []*pending, values [][]byte) error {
	sigs, err := l.sealer.SignBatch(ctx, values)
	if err != nil {
		return err
	}
	msgs := make([]kafka.Message, len(group))
	for i, p := range group {
		msgs[i] = kafka.Message{Key: []byte(p.ev.ID), Value: values[i],
			Headers: []kafka.Header{{Key: seal.HeaderBatch, Value: sigs[i]}}}
	}
	// The audit topic has one partition: its order is the tree's.
	return l.w.Produce(ctx, l.o.Topic, 0, msgs...)
}

type logMetrics struct {
	events    *prometheus.CounterVec
	failures  prometheus.Counter
	groupSize prometheus.Histogram
}

func newLogMetrics(reg prometheus.Registerer) logMetrics {
	m := logMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_audit_events_written_total",
			Help: "Audit events acknowledged by the brokers, by kind and decision.",
		}, []string{"kind", "decision"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "passerelle_audit_write_failures_total",
			Help: "Group commits that failed; every request in them was refused.",
		}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "passerelle_audit_group_commit_events",
			Help:    "Events per group commit (one produce request, one signature).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.failures, m.groupSize)
	}
	return m
}
