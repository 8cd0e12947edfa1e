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
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	// DoubtFile, if set, keeps the voids not written yet (requests
	// answered 503 whose events may have landed) across a restart: a
	// gateway that dies before the broker comes back writes them when it
	// starts again. Without it they live as long as the process.
	DoubtFile string
}

// Log appends events to the audit topic with a group commit: one goroutine
// writes, and every request that arrives while a write is in flight joins
// the next one, so concurrent requests share a produce request (and one
// signature) without a quiet gateway waiting for company. Writing from one
// goroutine is also what numbers a writer's events in topic order, and
// what lets the log know which records of the topic are its own
// (Receipt.Since).
type Log struct {
	w       *bus.Writer
	sealer  *seal.Sealer
	o       LogOptions
	queue   chan *pending
	quit    chan struct{} // closed by Close or once Run's ctx ends: no more appends
	stopped chan struct{} // closed when Run has returned
	m       logMetrics

	stateMu sync.Mutex
	running bool // Run was called
	closed  bool // quit is closed

	voidMu sync.Mutex
	voids  []voidOf // to write with the next group
	doubt  *doubtFile

	lastErr atomic.Pointer[error] // of the last group commit; nil once one succeeds

	// owned by the committing goroutine
	writer string
	seq    int64
	// [since, end) are offsets of records this log wrote one after the
	// other, with nothing else between them; since is -1 before the first.
	since, end int64
}

// Receipt says where an event landed.
type Receipt struct {
	Offset int64
	// Since: every record of the topic from offset Since up to Offset was
	// written by this Log. A trail that had read up to Since has seen
	// every record that precedes the event (claims.go).
	Since int64
}

type pending struct {
	ev    Event
	note  []byte // a checkpoint to write instead of an event
	done  chan result
	state atomic.Int32 // waiting, delivered or abandoned
}

// States of a pending append: its caller stopped waiting (abandoned), or
// its result was handed over (delivered), whichever came first.
const (
	waiting int32 = iota
	delivered
	abandoned
)

type result struct {
	r   Receipt
	err error
}

// NewWriter returns a bus writer fit for a Log: acks=all. The Log sends
// each group in one produce request of its own (Writer.Produce). What else
// goes through it (consent events) is written one call at a time, so a
// batch leaves as soon as its call returns: kafka-go's own batching would
// only add its timeout.
func NewWriter(c *bus.Client, m *bus.Metrics) *bus.Writer {
	return c.NewWriter(m, bus.WithBatch(MaxGroup, 10*time.Microsecond))
}

// NewLog returns a log writing with w (from NewWriter) and signing each
// group with sealer, the gateway's key; Run commits its groups. It fails
// only if the doubt file cannot be read.
func NewLog(w *bus.Writer, sealer *seal.Sealer, o LogOptions) (*Log, error) {
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
		quit: make(chan struct{}), stopped: make(chan struct{}), m: newLogMetrics(o.Metrics), since: -1, end: -1}
	if o.DoubtFile != "" {
		d, voids, err := openDoubt(o.DoubtFile)
		if err != nil {
			return nil, err
		}
		l.doubt, l.voids = d, voids
	}
	l.newEpoch()
	return l, nil
}

// Topic is the topic the log writes.
func (l *Log) Topic() string { return l.o.Topic }

// Append returns once the event is acknowledged by all in-sync replicas,
// or an error wrapping ErrUnavailable (or ErrClosed). ev.Writer and ev.Seq
// are set by the log. After an error nothing may be released: the log
// then writes, as soon as it can, a void of the event, which may still
// land (its caller answered without it).
func (l *Log) Append(ctx context.Context, ev Event) (Receipt, error) {
	return l.append(ctx, &pending{ev: ev, done: make(chan result, 1)})
}

// WriteCheckpoint writes a signed checkpoint note in line with the events,
// so that the log's own records stay one run (Receipt.Since).
func (l *Log) WriteCheckpoint(ctx context.Context, note []byte) error {
	_, err := l.append(ctx, &pending{note: note, done: make(chan result, 1)})
	return err
}

func (l *Log) append(ctx context.Context, p *pending) (Receipt, error) {
	select {
	case l.queue <- p:
	case <-l.quit:
		return Receipt{}, ErrClosed
	case <-ctx.Done():
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	select {
	case res := <-p.done:
		return res.r, res.err
	case <-l.stopped:
		// Enqueued as the log closed, after its last drain.
		select {
		case res := <-p.done:
			return res.r, res.err
		default:
			return Receipt{}, ErrClosed
		}
	case <-ctx.Done():
		if p.state.CompareAndSwap(waiting, abandoned) {
			// The event may still be written: the committer then voids it.
			return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		res := <-p.done
		return res.r, res.err
	}
}

// Healthy is the error of the last group commit if it failed: until a
// commit succeeds again, every request is answered 503.
func (l *Log) Healthy() error {
	if p := l.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Void records that ev, appended earlier, released nothing after all (its
// caller answered an error), for the code given: a void event naming it
// goes out with the next group.
func (l *Log) Void(ev Event, code string) {
	l.addVoids([]voidOf{voidFor(ev, code)})
}

// Close stops the log as the end of Run's ctx does, waits for Run to
// return, and releases the doubt file. A log whose Run never started
// answers every append ErrClosed.
func (l *Log) Close() {
	l.stateMu.Lock()
	running, first := l.running, !l.closed
	l.shut()
	if !running && first {
		close(l.stopped) // Run will refuse to start: nothing is committed
	}
	l.stateMu.Unlock()
	<-l.stopped
	if l.doubt != nil {
		l.doubt.close()
	}
}

// shut closes quit once; l.stateMu is held.
func (l *Log) shut() {
	if !l.closed {
		l.closed = true
		close(l.quit)
	}
}

// voidRetry is how often a log with voids to write and no event to carry
// them tries on its own.
const voidRetry = time.Second

// Run commits the appends in groups until ctx ends or Close is called.
// Then it takes no more appends and commits what is queued and every void
// waiting, so that the requests a stopping gateway answered are in the
// log; it returns the error of that last commit if it failed (the voids
// not written stay in the doubt file). A log runs once.
func (l *Log) Run(ctx context.Context) error {
	l.stateMu.Lock()
	switch {
	case l.closed:
		l.stateMu.Unlock()
		return ErrClosed
	case l.running:
		l.stateMu.Unlock()
		return errors.New("audit: the log is running already")
	}
	l.running = true
	l.stateMu.Unlock()
	defer close(l.stopped)
	retry := time.NewTicker(voidRetry)
	defer retry.Stop()
	buf := make([]*pending, 0, MaxGroup)
	stop := func() error {
		l.stateMu.Lock()
		l.shut()
		l.stateMu.Unlock()
		return l.flush()
	}
	for {
		// A stop seen first, even with appends queued: they go with the
		// flush, and appends from now on are refused at once.
		select {
		case <-ctx.Done():
			return stop()
		case <-l.quit:
			return l.flush()
		default:
		}
		group := buf[:0]
		select {
		case p := <-l.queue:
			group = append(group, p)
		case <-retry.C:
			if !l.hasVoids() {
				continue
			}
		case <-ctx.Done():
			return stop()
		case <-l.quit:
			return l.flush()
		}
		l.commitGroup(l.gather(group))
	}
}

// gather adds to group what is queued, up to MaxGroup.
func (l *Log) gather(group []*pending) []*pending {
	for len(group) < MaxGroup {
		select {
		case p := <-l.queue:
			group = append(group, p)
		default:
			return group
		}
	}
	return group
}

func (l *Log) commitGroup(group []*pending) error {
	first, since, err := l.commit(group)
	if err != nil {
		l.lastErr.Store(&err)
	} else {
		l.lastErr.Store(nil)
	}
	l.deliver(group, first, since, err)
	return err
}

// flush commits, once the log takes no more appends, what is queued and
// the voids waiting; after a failed commit the appends still queued get
// ErrClosed (they were never sent, so they need no void) and the voids
// stay in the doubt file.
func (l *Log) flush() error {
	buf := make([]*pending, 0, MaxGroup)
	for {
		group := l.gather(buf[:0])
		if len(group) == 0 && !l.hasVoids() {
			return nil
		}
		if err := l.commitGroup(group); err != nil {
			l.drain(ErrClosed)
			return fmt.Errorf("audit: commit what was queued at close: %w", err)
		}
	}
}

// deliver hands each caller its result. The events of a failed write,
// and those whose caller stopped waiting, get a void: their callers
// released nothing, and the events may be on the topic all the same. A
// failed write's voids are on file before its callers answer.
func (l *Log) deliver(group []*pending, first int64, since int64, err error) {
	if err != nil {
		var voids []voidOf
		for _, p := range group {
			if p.note == nil {
				voids = append(voids, voidFor(p.ev, VoidUnavailable))
			}
		}
		if len(voids) > 0 {
			l.addVoids(voids)
		}
		for _, p := range group {
			p.state.Store(delivered)
			p.done <- result{err: err}
		}
		return
	}
	var late []voidOf
	for i, p := range group {
		if !p.state.CompareAndSwap(waiting, delivered) && p.note == nil {
			late = append(late, voidFor(p.ev, VoidUnavailable))
		}
		p.done <- result{r: Receipt{Offset: first + int64(i), Since: since}}
	}
	if len(late) > 0 {
		l.addVoids(late)
	}
}

func (l *Log) drain(err error) {
	for {
		select {
		case p := <-l.queue:
			p.done <- result{err: err}
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

// commit writes the voids waiting, then the group, in one produce request;
// it returns the offset of the group's first record and the start of the
// run of this log's records it ends.
func (l *Log) commit(group []*pending) (first, since int64, err error) {
	voids := l.takeVoids()
	now := time.Now()
	events := make([]*Event, 0, len(voids)+len(group))
	for i := range voids {
		events = append(events, voids[i].event(now))
	}
	for _, p := range group {
		if p.note == nil {
			events = append(events, &p.ev)
		}
	}
	values := make([][]byte, len(events))
	for i, ev := range events {
		ev.Writer, ev.Seq = l.writer, l.seq+int64(i)
		if values[i], err = json.Marshal(ev); err != nil {
			l.putBackVoids(voids)
			return 0, 0, fmt.Errorf("audit: encode event %s: %w", ev.ID, err)
		}
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
	produced, err := l.write(ctx, events, values, group)
	if err != nil {
		l.m.failures.Inc()
		l.o.Log.Error("audit write failed: its requests are refused", "component", "audit", "events", len(group), "err", err)
		l.newEpoch()
		l.putBackVoids(voids)
		return 0, 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if l.doubt != nil && len(voids) > 0 {
		l.voidMu.Lock()
		l.doubt.rewrite(l.voids, l.o.Log)
		l.voidMu.Unlock()
	}
	n := int64(len(voids) + len(group))
	if produced.Retried || produced.BaseOffset != l.end {
		l.since = produced.BaseOffset // copies of an earlier attempt may sit before it
	}
	l.end = produced.BaseOffset + n
	l.seq += int64(len(events))
	l.m.groupSize.Observe(float64(len(group)))
	for _, ev := range events {
		l.m.events.WithLabelValues(ev.Kind, ev.Decision).Inc()
	}
	return produced.BaseOffset + int64(len(voids)), l.since, nil
}

func (l *Log) write(ctx context.Context, events []*Event, values [][]byte, group []*pending) (bus.Produced, error) {
	sigs, err := l.sealer.SignBatch(ctx, values)
	if err != nil {
		return bus.Produced{}, err
	}
	msgs := make([]bus.Message, 0, len(values)+1)
	k := 0
	next := func() bus.Message {
		m := bus.Message{Key: []byte(events[k].ID), Value: values[k],
			Headers: []bus.Header{{Key: seal.HeaderBatch, Value: sigs[k]}}}
		k++
		return m
	}
	for range len(events) - countEvents(group) {
		msgs = append(msgs, next()) // the voids first
	}
	for _, p := range group {
		if p.note != nil {
			msgs = append(msgs, bus.Message{Key: []byte(CheckpointKey), Value: p.note})
			continue
		}
		msgs = append(msgs, next())
	}
	// The audit topic has one partition: its order is the tree's.
	return l.w.Produce(ctx, l.o.Topic, 0, msgs...)
}

func countEvents(group []*pending) int {
	n := 0
	for _, p := range group {
		if p.note == nil {
			n++
		}
	}
	return n
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
