package view

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Record is a verified record of the view, decoded.
type Record struct {
	Domain string
	Meta   schemas.Meta
	// Value is a pointer to the domain's record type (*tax.Household...).
	Value any
	KeyID string
	Entry Entry
}

// ErrWithdrawn: the record's signing key, or its member, has been revoked
// since the record was taken in, or the member no longer publishes the
// domain. The record is not served: a revocation takes effect on what a
// member published at once, not at the next rebuild.
var ErrWithdrawn = errors.New("the record's publisher has been revoked")

// Index builds and serves the view.
type Index struct {
	store    Store
	codec    *schemas.Codec
	keys     seal.Keys
	verifier *seal.Verifier
	log      *slog.Logger

	indexed    *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	unobserved *prometheus.CounterVec

	ready     chan struct{}
	readyOnce sync.Once

	observer Observer
	opener   Opener
}

// Opener opens sealed records (internal/datakeys): the clear wire value
// of a record whose personal fields are sealed, or an error wrapping
// fieldcrypt.ErrShredded (its key erased), fieldcrypt.ErrForged or
// datakeys.ErrForged (an envelope moved or altered), or the key
// service's unavailability.
type Opener interface {
	Open(ctx context.Context, domain string, wire []byte, meta *schemas.Meta) ([]byte, error)
}

// Open makes the view open sealed records with o; call it before Run.
// Without one, a sealed record is held but never served.
func (ix *Index) Open(o Opener) { ix.opener = o }

// Observer hears of every record the view holds, as it takes it in: the
// statistics index (internal/stats) keeps its own columns from them. A
// disk index reading the log again tells it again of each record it
// already held, so that an observer in memory is whole after a restart.
type Observer interface {
	Observe(domain string, o Observed)
}

// Observed is a record the view holds now.
type Observed struct {
	Meta *schemas.Meta
	// Value is the decoded record, nil when Deleted.
	Value   any
	Deleted bool
	KeyID   string
	// Headers are the Kafka record's, the linkage token among them.
	Headers []bus.Header
}

// Observe makes o hear of every record the view holds; call it before Run.
func (ix *Index) Observe(o Observer) { ix.observer = o }

// New returns an index over store; records are verified against keys.
func New(store Store, codec *schemas.Codec, keys seal.Keys, reg prometheus.Registerer, log *slog.Logger) *Index {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ix := &Index{
		store: store, codec: codec, keys: keys, verifier: seal.NewVerifier(keys), log: log.With("component", "view"),
		indexed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_view_records_indexed_total", Help: "Verified records taken into the view.",
		}, []string{"domain"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_view_records_rejected_total", Help: "Records refused by the view, never served, by reason.",
		}, []string{"domain", "reason"}),
		unobserved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_view_records_unobserved_total",
			Help: "Sealed records the view holds but could not open for its observer (the statistics), by reason: no-keys, shredded, forged, unavailable, undecodable.",
		}, []string{"domain", "reason"}),
		ready: make(chan struct{}),
	}
	if reg != nil {
		reg.MustRegister(ix.indexed, ix.rejected, ix.unobserved)
	}
	return ix
}

// Ready is closed once every domain has been read up to where it stood
// when Run started.
func (ix *Index) Ready() <-chan struct{} { return ix.ready }

// Run reads every domain topic from the beginning, then follows them, until
// ctx ends. A domain whose follower fails stops the others, and Run
// returns its error: a view missing a domain is failed as a whole, not
// left serving that domain's records as they stood.
func (ix *Index) Run(ctx context.Context, client *bus.Client) error {
	parent := ctx
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		all     = domains.All()
		pending = len(all)
		errs    = make(chan error, len(all))
	)
	for _, d := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			caught := func() {
				mu.Lock()
				defer mu.Unlock()
				if pending--; pending == 0 {
					// What a store gathers is committed before the view
					// says it is ready.
					if f, ok := ix.store.(interface{ Flush() error }); ok {
						if err := f.Flush(); err != nil {
							ix.log.Error("view index flush failed", "err", err)
						}
					}
					ix.readyOnce.Do(func() { close(ix.ready) })
				}
			}
			err := client.Replay(ctx, d.Topic(), bus.ReplayOptions{Follow: true, CaughtUp: caught},
				func(m bus.Message) error { return ix.Ingest(d.Name, m) })
			if err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("view of %s: %w", d.Name, err)
				stop()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return parent.Err()
}

// Ingest takes one record of a domain topic into the view if it verifies
// and is newer than what the view holds of its subject (Head.Order); one
// that is not is counted and logged, never served. A record the view has
// already read (at or before the offset it holds, a disk index reading
// the log again) changes nothing and is not counted.
func (ix *Index) Ingest(domainName string, m bus.Message) error {
	d, ok := domains.ByName(domainName)
	if !ok {
		return fmt.Errorf("view: unknown domain %q", domainName)
	}
	value, meta, err := d.Decode(ix.codec, m.Value)
	sealed := errors.Is(err, schemas.ErrSealed)
	if sealed {
		// Held as published, opened when asked (Lookup): the index never
		// holds a personal field in clear, and an erased key erases
		// what it holds too.
		meta, _, err = ix.codec.DecodeMeta(m.Value, d.Subject())
		value = nil
	}
	if err != nil {
		ix.reject(d.Name, "undecodable", m, err)
		return nil
	}
	held, holds, err := ix.store.Head(d.Name, meta.Subject)
	if err != nil {
		return err
	}
	if holds && held.Partition == int32(m.Partition) && m.Offset <= held.Offset {
		if m.Offset == held.Offset {
			ix.rehear(d.Name, meta, value, m)
		}
		return nil
	}
	sig, batch := seal.Headers(m.Headers)
	k, err := ix.verifier.Verify(seal.Record{Domain: d.Name, Key: m.Key, Value: m.Value, Sig: sig, Batch: batch,
		Source: meta.Source, Subject: meta.Subject})
	if err != nil {
		ix.reject(d.Name, reason(err), m, err)
		return nil
	}
	e := Entry{Head: Head{Partition: int32(m.Partition), Offset: m.Offset, EventTime: meta.EventTime.UnixMilli(), RecordID: meta.RecordID},
		KeyID: k.ID, Value: m.Value}
	switch meta.Op {
	case schemas.OpUpsert:
	case schemas.OpDelete:
		e.Deleted, e.Value = true, nil
	default:
		ix.reject(d.Name, "unknown-op", m, fmt.Errorf("op %q", meta.Op))
		return nil
	}
	if holds {
		switch c := e.Order(held); {
		case c < 0:
			// A validly signed record older than the one held, written
			// again: the view never goes back in time.
			ix.reject(d.Name, "stale", m, fmt.Errorf("event time %d, record %s: the view holds %d, %s",
				e.EventTime, e.RecordID, held.EventTime, held.RecordID))
			return nil
		case c == 0:
			ix.reject(d.Name, "duplicate", m, fmt.Errorf("record %s is held already", e.RecordID))
			return nil
		}
	}
	if err := ix.store.Put(d.Name, meta.Subject, e); err != nil {
		return err
	}
	ix.indexed.WithLabelValues(d.Name).Inc()
	if ix.observer != nil {
		if e.Deleted {
			value = nil
		} else if sealed {
			if value = ix.openForObserver(d, m.Value, meta); value == nil {
				return nil
			}
		}
		ix.observer.Observe(d.Name, Observed{Meta: meta, Value: value, Deleted: e.Deleted, KeyID: k.ID, Headers: m.Headers})
	}
	return nil
}

// openForObserver opens a sealed record for the observer, or counts why
// it could not: the statistics then lack it.
func (ix *Index) openForObserver(d *domain.Domain, wire []byte, meta *schemas.Meta) any {
	if ix.opener == nil {
		ix.unobserved.WithLabelValues(d.Name, "no-keys").Inc()
		return nil
	}
	clear, err := ix.opener.Open(context.Background(), d.Name, wire, meta)
	if err != nil {
		ix.unobserved.WithLabelValues(d.Name, openFailure(err)).Inc()
		return nil
	}
	v, _, err := d.Decode(ix.codec, clear)
	if err != nil {
		ix.unobserved.WithLabelValues(d.Name, "undecodable").Inc()
		return nil
	}
	return v
}

// openFailure names why a sealed record did not open, for metrics.
func openFailure(err error) string {
	switch {
	case errors.Is(err, fieldcrypt.ErrShredded):
		return "shredded"
	case errors.Is(err, fieldcrypt.ErrForged), errors.Is(err, fieldcrypt.ErrMalformed):
		return "forged"
	}
	return "unavailable"
}

// rehear tells the observer again of the record the view holds, read
// again from the log by a disk index after a restart. Its signature was
// verified when it was first taken in, and the store kept its key id.
func (ix *Index) rehear(domainName string, meta *schemas.Meta, value any, m bus.Message) {
	if ix.observer == nil {
		return
	}
	e, ok, err := ix.store.Get(domainName, meta.Subject)
	if err != nil || !ok {
		return
	}
	if e.Deleted {
		value = nil
	} else if value == nil {
		d, _ := domains.ByName(domainName)
		if value = ix.openForObserver(d, m.Value, meta); value == nil {
			return
		}
	}
	ix.observer.Observe(domainName, Observed{Meta: meta, Value: value, Deleted: e.Deleted, KeyID: e.KeyID, Headers: m.Headers})
}

func (ix *Index) reject(domain, why string, m bus.Message, err error) {
	ix.rejected.WithLabelValues(domain, why).Inc()
	ix.log.Warn("record refused by the view", "domain", domain, "partition", m.Partition, "offset", m.Offset, "reason", why, "err", err)
}

// reason names a verification failure for metrics.
func reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{seal.ErrUnsigned, "unsigned"}, {seal.ErrMalformed, "malformed-signature"}, {seal.ErrAlgorithm, "algorithm"},
		{seal.ErrUnknownKey, "unknown-key"}, {seal.ErrRevokedKey, "revoked-key"}, {seal.ErrBadSignature, "bad-signature"},
		{seal.ErrBadInclusion, "bad-inclusion"}, {seal.ErrWrongSource, "wrong-source"}, {seal.ErrNotPublisher, "not-publisher"},
		{seal.ErrKeyMismatch, "key-mismatch"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// Decode reads a value of domain's topic into its record type, returning
// the record and its meta.
func Decode(codec *schemas.Codec, domainName string, value []byte) (any, schemas.Meta, error) {
	d, ok := domains.ByName(domainName)
	if !ok {
		return nil, schemas.Meta{}, fmt.Errorf("view: unknown domain %q", domainName)
	}
	v, meta, err := d.Decode(codec, value)
	if err != nil {
		return nil, schemas.Meta{}, err
	}
	return v, *meta, nil
}

// Lookup returns the verified record of subject in domain, if any; an
// error wrapping ErrWithdrawn if its publisher has been revoked since.
func (ix *Index) Lookup(ctx context.Context, domainName, subject string) (Record, bool, error) {
	d, ok := domains.ByName(domainName)
	if !ok {
		return Record{}, false, fmt.Errorf("view: unknown domain %q", domainName)
	}
	e, ok, err := ix.store.Get(d.Name, subject)
	if err != nil || !ok || e.Deleted {
		return Record{}, false, err
	}
	k, err := ix.keys.SigningKey(e.KeyID)
	if err == nil && !ix.keys.MayPublish(k.Member, d.Name) {
		err = seal.ErrNotPublisher
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("%w: %s record of key %s: %w", ErrWithdrawn, d.Name, e.KeyID, err)
	}
	v, meta, err := d.Decode(ix.codec, e.Value)
	if errors.Is(err, schemas.ErrSealed) {
		v, meta, err = ix.open(ctx, d, e.Value)
		switch {
		case errors.Is(err, fieldcrypt.ErrShredded):
			// Erased: the view no longer holds a record of the subject.
			return Record{}, false, nil
		case err != nil && openFailure(err) == "forged":
			ix.rejected.WithLabelValues(d.Name, "forged-envelope").Inc()
			ix.log.Warn("sealed record refused", "domain", d.Name, "record", e.RecordID, "err", err)
			return Record{}, false, nil
		case err != nil:
			return Record{}, false, fmt.Errorf("view: %s record of %s: %w", d.Name, subject, err)
		}
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("view: stored %s record of %s: %w", d.Name, subject, err)
	}
	return Record{Domain: d.Name, Meta: *meta, Value: v, KeyID: e.KeyID, Entry: e}, true, nil
}

// open opens a stored sealed record and decodes it.
func (ix *Index) open(ctx context.Context, d *domain.Domain, wire []byte) (any, *schemas.Meta, error) {
	if ix.opener == nil {
		return nil, nil, errors.New("a sealed record, and no keys to open it")
	}
	meta, _, err := ix.codec.DecodeMeta(wire, d.Subject())
	if err != nil {
		return nil, nil, err
	}
	clear, err := ix.opener.Open(ctx, d.Name, wire, meta)
	if err != nil {
		return nil, nil, err
	}
	return d.Decode(ix.codec, clear)
}

// Rejected is the counter of refused records, for tests and dashboards.
func (ix *Index) Rejected(domain, reason string) prometheus.Counter {
	return ix.rejected.WithLabelValues(domain, reason)
}

// Indexed is the counter of records taken into the view.
func (ix *Index) Indexed(domain string) prometheus.Counter {
	return ix.indexed.WithLabelValues(domain)
}
