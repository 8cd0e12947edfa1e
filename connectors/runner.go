package connectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Defaults of a runner.
const (
	DefaultBatchSize = 1000
	DefaultPoll      = time.Second
	// DefaultGiveUpAfter failed batches in a row, about 15 seconds of
	// backing off, end a run until idle: an unreachable source is an
	// error to report, not a job that never ends.
	DefaultGiveUpAfter = 8
	maxBackoff         = 5 * time.Second
)

// Options wire a Runner. Every field without a default is required.
type Options struct {
	Name   string // for logs and dead letters, e.g. "dgfip/tax"
	Member string // meta.source of every record
	// Domain names the domain published to: its pseudonym key, its
	// dead-letter topic; Subject is its schema registry subject, whose
	// topic the records go to.
	Domain, Subject string
	Source          Source
	Mapping         Mapping
	Pseudo          *pseudo.Pseudonymizer
	// Link seals each record's link id into its passerelle-link header,
	// for the gateway's cross-domain statistics; its domain is Domain.
	Link   *link.Sealer
	Codec  *schemas.Codec
	Sealer *seal.Sealer
	// BatchSigning signs one Merkle root per batch instead of each record.
	BatchSigning bool
	Writer       *bus.Writer
	// Partitions of the domain topic and of its dead-letter topic.
	Partitions, DLQPartitions int
	Checkpoint                *Checkpoint
	BatchSize                 int
	Poll                      time.Duration
	// GiveUpAfter is how many batches in a row may fail before a run
	// until idle (a batch job) returns the error instead of retrying:
	// DefaultGiveUpAfter if zero. A polling run retries for ever.
	GiveUpAfter int
	Metrics     *Metrics
	Log         *slog.Logger
	// Sealing, if set, seals the records' personal fields under each
	// citizen's data key before they are signed (internal/datakeys).
	Sealing Sealing
}

// Sealing seals personal fields (implemented by datakeys.Sealing).
type Sealing interface {
	// Keys returns each subject's data key, and the key records to write
	// before any record sealed with them.
	Keys(ctx context.Context, subjects []string) (map[string]fieldcrypt.DataKey, []bus.Message, error)
	// Seal returns the sealed wire value of a clear one.
	Seal(wire []byte, dk fieldcrypt.DataKey, subject, recordID string) ([]byte, error)
}

// Stats count what a runner did since it started.
type Stats struct {
	Read, Published, Rejected int64
}

// Runner moves rows from a source to the bus.
type Runner struct {
	stats struct{ read, published, rejected atomic.Int64 }

	o       Options
	topic   string
	dlq     string
	version *schemas.Version
	pos     Position
}

// NewRunner validates o and loads the checkpoint.
func NewRunner(o Options) (*Runner, error) {
	switch {
	case o.Member == "", o.Domain == "", o.Subject == "", o.Source == nil, o.Mapping == nil, o.Pseudo == nil, o.Link == nil, o.Codec == nil,
		o.Sealer == nil, o.Writer == nil, o.Checkpoint == nil:
		return nil, errors.New("connector: member, domain, subject, source, mapping, pseudo, link, codec, sealer, writer and checkpoint are required")
	case o.Link.Domain() != o.Domain:
		return nil, fmt.Errorf("connector: link sealer of domain %s for a connector of %s", o.Link.Domain(), o.Domain)
	case o.Partitions <= 0 || o.DLQPartitions <= 0:
		return nil, errors.New("connector: partitions of the topic and of its dead-letter topic are required")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = DefaultGiveUpAfter
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = o.Member + "/" + o.Domain
	}
	o.Log = o.Log.With("component", "connector", "domain", o.Domain)
	subj, err := o.Codec.Catalog().Subject(o.Subject)
	if err != nil {
		return nil, err
	}
	pos, err := o.Checkpoint.Load()
	if err != nil {
		return nil, err
	}
	return &Runner{
		o:       o,
		topic:   schemas.TopicOf(subj.Name),
		dlq:     bus.DLQTopic(o.Domain),
		version: subj.Latest(),
		pos:     pos,
	}, nil
}

// Stats returns the counts so far.
func (r *Runner) Stats() Stats {
	return Stats{r.stats.read.Load(), r.stats.published.Load(), r.stats.rejected.Load()}
}

// Domain is the domain the runner publishes to.
func (r *Runner) Domain() string { return r.o.Domain }

// Name identifies the connector in its dead letters.
func (r *Runner) Name() string { return r.o.Name }

// Position is the last checkpointed position.
func (r *Runner) Position() Position { return r.pos }

// Run processes batches until ctx ends, or, with untilIdle, until the
// source has nothing new. A failing batch (broker down, say) is retried
// with backoff from the same position: records carry deterministic ids, so
// a retried batch is recognisable downstream.
func (r *Runner) Run(ctx context.Context, untilIdle bool) error {
	backoff := 100 * time.Millisecond
	failed := 0
	for {
		n, err := r.Step(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && untilIdle && failed+1 >= r.o.GiveUpAfter:
			return fmt.Errorf("%d batches in a row failed, giving up: %w", failed+1, err)
		case err != nil:
			failed++
			r.o.Log.Warn("batch failed; retrying from the checkpoint", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return ctx.Err()
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		case n == 0 && untilIdle:
			return nil
		case n == 0:
			if !sleep(ctx, r.o.Poll) {
				return ctx.Err()
			}
		}
		backoff, failed = 100*time.Millisecond, 0
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Step processes one batch and returns how many rows it read.
func (r *Runner) Step(ctx context.Context) (int, error) {
	start := time.Now()
	rows, next, err := r.o.Source.Read(ctx, r.pos, r.o.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("read source: %w", err)
	}
	if len(rows) == 0 {
		r.updateLag(ctx)
		if next != r.pos { // e.g. an empty file finished
			return 0, r.commit(ctx, next)
		}
		return 0, nil
	}
	if _, err := r.Publish(ctx, rows, 0); err != nil {
		return 0, err
	}
	r.o.Metrics.latency.WithLabelValues(r.o.Domain).Observe(time.Since(start).Seconds())
	if err := r.commit(ctx, next); err != nil {
		return 0, err
	}
	r.updateLag(ctx)
	return len(rows), nil
}

// Publish maps, signs and writes rows, sending the ones that fail to the
// dead-letter topic (attempt counts replays), and returns how many were
// published. It does not checkpoint: Step does, and a replay of dead
// letters commits its own offsets.
func (r *Runner) Publish(ctx context.Context, rows []Row, attempt int) (int, error) {
	domain := r.o.Domain
	msgs, dead, keys, err := r.build(ctx, rows, attempt)
	if err != nil {
		return 0, err
	}
	// The keys first, acknowledged: no reader may meet a record sealed
	// with a key the key topic does not hold yet.
	if len(keys) > 0 {
		if err := r.o.Writer.Write(ctx, keys...); err != nil {
			return 0, err
		}
	}
	if err := r.o.Writer.Write(ctx, append(msgs, dead...)...); err != nil {
		return 0, err
	}
	// Counted once written: a retried batch is not counted twice.
	r.o.Metrics.read.WithLabelValues(domain).Add(float64(len(rows)))
	r.o.Metrics.published.WithLabelValues(domain).Add(float64(len(msgs)))
	for _, d := range dead {
		r.o.Metrics.rejected.WithLabelValues(domain, string(d.Headers[0].Value)).Inc()
	}
	r.stats.read.Add(int64(len(rows)))
	r.stats.published.Add(int64(len(msgs)))
	r.stats.rejected.Add(int64(len(dead)))
	return len(msgs), nil
}

func (r *Runner) commit(ctx context.Context, next Position) error {
	if err := r.o.Checkpoint.Save(next); err != nil {
		return err
	}
	r.pos = next
	return r.o.Source.Commit(ctx, next)
}

func (r *Runner) updateLag(ctx context.Context) {
	if l, ok := r.o.Source.(Lagger); ok {
		if n, err := l.Lag(ctx, r.pos); err == nil {
			r.o.Metrics.lag.WithLabelValues(r.o.Domain).Set(float64(n))
		}
	}
}

type good struct {
	row Row
	m   Mapped
}

// build maps, pseudonymises, encodes, signs and seals the link ids of a
// batch; rows that fail become dead letters.
func (r *Runner) build(ctx context.Context, rows []Row, attempt int) (msgs, dead, keys []bus.Message, err error) {
	var ok []good
	for _, row := range rows {
		if row.Err != nil {
			dead = append(dead, r.deadLetter(row, defectOf(row.Err), attempt))
			continue
		}
		m, err := r.o.Mapping.Map(row)
		if err != nil {
			dead = append(dead, r.deadLetter(row, defectOf(err), attempt))
			continue
		}
		ok = append(ok, good{row, m})
	}
	if len(ok) == 0 {
		return nil, dead, nil, nil
	}
	nirs := make([]string, len(ok))
	for i, g := range ok {
		nirs[i] = g.m.NIR
	}
	subjects, err := r.o.Pseudo.Domain(ctx, r.o.Domain, nirs)
	if err != nil {
		// Mappings validate NIRs, so this is the keyring failing.
		return nil, nil, nil, err
	}
	parts, err := r.o.Pseudo.Partitions(ctx, nirs, r.o.Partitions)
	if err != nil {
		return nil, nil, nil, err
	}
	ids, err := r.o.Link.IDs(ctx, nirs)
	if err != nil {
		return nil, nil, nil, err
	}
	values := make([][]byte, 0, len(ok))
	links := make([][]byte, 0, len(ok))
	recordIDs := make([]string, 0, len(ok))
	keptSubjects, keptParts := subjects[:0], parts[:0]
	for i, g := range ok {
		recordID := RecordID(r.o.Member, r.o.Domain, g.row.Key, g.row.Version)
		*g.m.Meta = schemas.Meta{
			RecordID:  recordID,
			Subject:   subjects[i],
			Source:    r.o.Member,
			EventTime: g.m.EventTime.UTC().Truncate(time.Millisecond),
			Op:        schemas.OpUpsert,
		}
		v, err := r.o.Codec.Append(nil, r.version, g.m.Record)
		if err != nil {
			dead = append(dead, r.deadLetter(g.row, &Defect{Code: DefectEncode, Msg: err.Error()}, attempt))
			continue
		}
		// The signature covers key and value; the AEAD binds the link
		// to this record (domain, subject, record id).
		l, err := r.o.Link.Seal(ids[i], subjects[i], recordID)
		if err != nil {
			return nil, nil, nil, err
		}
		values = append(values, v)
		links = append(links, l)
		recordIDs = append(recordIDs, recordID)
		keptSubjects = append(keptSubjects, subjects[i])
		keptParts = append(keptParts, parts[i])
	}
	if len(values) == 0 {
		return nil, dead, nil, nil
	}
	if r.o.Sealing != nil {
		if keys, err = r.seal(ctx, values, keptSubjects, recordIDs); err != nil {
			return nil, nil, nil, err
		}
	}
	var hdrs [][]byte
	name := seal.HeaderSig
	if r.o.BatchSigning {
		hdrs, err = r.o.Sealer.SignBatch(ctx, values)
		name = seal.HeaderBatch
	} else {
		hdrs, err = r.o.Sealer.SignEach(ctx, values)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	msgs = make([]bus.Message, len(values))
	for i := range values {
		msgs[i] = bus.Message{
			Topic:     r.topic,
			Partition: keptParts[i],
			Key:       []byte(keptSubjects[i]),
			Value:     values[i],
			Headers:   []bus.Header{{Key: name, Value: hdrs[i]}, {Key: link.Header, Value: links[i]}},
		}
	}
	return msgs, dead, keys, nil
}

// seal seals values in place, each under its subject's data key, and
// returns the key records to write first.
func (r *Runner) seal(ctx context.Context, values [][]byte, subjects, recordIDs []string) ([]bus.Message, error) {
	keys, fresh, err := r.o.Sealing.Keys(ctx, subjects)
	if err != nil {
		return nil, fmt.Errorf("data keys: %w", err)
	}
	for i, v := range values {
		if values[i], err = r.o.Sealing.Seal(v, keys[subjects[i]], subjects[i], recordIDs[i]); err != nil {
			return nil, err
		}
	}
	return fresh, nil
}

func (r *Runner) deadLetter(row Row, d *Defect, attempt int) bus.Message {
	r.o.Log.Debug("row rejected", "key", row.Key, "code", d.Code, "field", d.Field)
	dl := DeadLetter{
		Connector: r.o.Name, Domain: r.o.Domain, Source: r.o.Member,
		Key: row.Key, At: row.At, Code: d.Code, Field: d.Field, Reason: Redact([]byte(d.Msg)),
		Row: Redact(row.Raw), Time: time.Now().UTC(), Attempt: attempt,
	}
	h := fnv.New32a()
	h.Write([]byte(row.At))
	return bus.Message{
		Topic:     r.dlq,
		Partition: int(h.Sum32() % uint32(r.o.DLQPartitions)),
		Key:       []byte(row.At),
		Value:     dl.encode(),
		Headers:   []bus.Header{{Key: HeaderDefect, Value: []byte(d.Code)}},
	}
}

// RecordID is deterministic in (source member, domain, source key, version):
// a row published twice is recognisably the same record.
func RecordID(member, domain, key, version string) string {
	h := sha256.New()
	for _, s := range []string{member, domain, key, version} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
