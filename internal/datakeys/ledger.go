package datakeys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/seal"
)

var (
	// ErrUnknownKey: the ledger, read to its end, holds no key of that id
	// for the subject. Connectors publish a key before any record sealed
	// with it, so a record naming one is forged (fieldcrypt.ErrForged).
	ErrUnknownKey = fmt.Errorf("datakeys: no such data key: %w", fieldcrypt.ErrForged)
	// ErrForged: a key that does not open under its epoch, or a record
	// naming a key its subject never had.
	ErrForged = fmt.Errorf("datakeys: forged key: %w", fieldcrypt.ErrForged)
	// ErrLagging: the ledger has not read its topic to the end yet.
	ErrLagging = errors.New("datakeys: the key topic is not read to its end yet")
)

// Ledger is a domain's key topic read: the epochs, each subject's data
// key and the subjects erased. Connectors and gateways each keep one per
// domain they handle. It is safe for concurrent use.
type Ledger struct {
	domain    string
	kek       kek.KEK
	keys      seal.Keys
	verifier  *seal.Verifier
	isGateway func(member string) bool
	log       *slog.Logger
	rejected  *prometheus.CounterVec
	ready     atomic.Bool
	caughtUp  chan struct{}
	readyOnce sync.Once
	onErase   func(subject string)

	mu       sync.RWMutex
	epochs   map[string]*epoch
	seq      int
	subjects map[string]*entry

	// Where the follower is: a reader asked for a key it does not hold
	// yet waits until the follower has read what the topic held when it
	// asked (sync), since a connector writes a key before any record
	// sealed with it, but on another topic.
	client  *bus.Client
	applied atomic.Int64  // offset of the next record to read
	moved   chan struct{} // closed and replaced when applied moves
	movedMu sync.Mutex
}

type epoch struct {
	id         string
	seq        int // order of arrival
	kekVersion int
	wrapped    string // by the KEK
	retired    bool   // its record deleted by a rollover

	once sync.Mutex
	key  *[32]byte // unwrapped on first use
}

type entry struct {
	keyID   string // hex; "" once erased
	epoch   *epoch
	wrapped []byte
	erased  []string
}

// Options configure a ledger.
type Options struct {
	// IsGateway reports whether a member may erase, and wrap keys again
	// under a new epoch (it holds the gateway role).
	IsGateway func(member string) bool
	// OnErase is told of each subject erased, once the ledger applied it:
	// a gateway forgets the subject's records there.
	OnErase func(subject string)
	Log     *slog.Logger
	// Metrics, shared by the ledgers of a process (NewMetrics); nil
	// counts for this ledger alone.
	Metrics *Metrics
}

// Metrics are the series of a process's ledgers.
type Metrics struct{ rejected *prometheus.CounterVec }

// NewMetrics returns the ledgers' series, registered with reg if not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "passerelle_datakeys_records_rejected_total",
		Help: "Records of a key topic that changed nothing, by reason: forged, malformed, unknown-epoch, erased, conflict, stale, tombstone.",
	}, []string{"domain", "reason"})}
	if reg != nil {
		reg.MustRegister(m.rejected)
	}
	return m
}

// New returns the empty ledger of domain; records are trusted by keys
// (the trust registry), and epoch keys unwrapped by k.
func New(domain string, k kek.KEK, keys seal.Keys, opts Options) *Ledger {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	l := &Ledger{domain: domain, kek: k, keys: keys, verifier: seal.NewVerifier(keys), isGateway: opts.IsGateway,
		onErase: opts.OnErase, log: log.With("component", "datakeys", "domain", domain), rejected: opts.Metrics.rejected,
		epochs: map[string]*epoch{}, subjects: map[string]*entry{}, caughtUp: make(chan struct{}), moved: make(chan struct{})}
	if l.isGateway == nil {
		l.isGateway = func(string) bool { return false }
	}
	return l
}

// Rejected is the counter of refused key records.
func (l *Ledger) Rejected(reason string) prometheus.Counter {
	return l.rejected.WithLabelValues(l.domain, reason)
}

// Ready reports whether the ledger has read its topic to the end once.
func (l *Ledger) Ready() bool { return l.ready.Load() }

// CaughtUp is closed once the ledger has read its topic to the end.
func (l *Ledger) CaughtUp() <-chan struct{} { return l.caughtUp }

func (l *Ledger) markReady() {
	l.ready.Store(true)
	l.readyOnce.Do(func() { close(l.caughtUp) })
}

// Follow reads the domain's key topic from the beginning and follows it
// until ctx ends.
func (l *Ledger) Follow(ctx context.Context, client *bus.Client) error {
	l.movedMu.Lock()
	l.client = client
	l.movedMu.Unlock()
	return client.Replay(ctx, bus.KeyTopic(l.domain), bus.ReplayOptions{Follow: true, CaughtUp: l.markReady},
		func(m bus.Message) error {
			if why, err := l.Apply(m); why != "" {
				l.Rejected(why).Inc()
				l.log.Warn("key record refused", "offset", m.Offset, "reason", why, "err", err)
			}
			l.applied.Store(m.Offset + 1)
			l.movedMu.Lock()
			close(l.moved)
			l.moved = make(chan struct{})
			l.movedMu.Unlock()
			return nil
		})
}

// maxSync bounds how long a reader waits for the follower to read what
// the key topic holds.
const maxSync = 5 * time.Second

// sync waits until the follower has read every record the key topic held
// when it was called; false if it could not tell or not in time.
func (l *Ledger) sync(ctx context.Context) bool {
	l.movedMu.Lock()
	client := l.client
	l.movedMu.Unlock()
	if client == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, maxSync)
	defer cancel()
	hw, err := client.HighWatermark(ctx, bus.KeyTopic(l.domain), 0)
	if err != nil {
		return false
	}
	for {
		l.movedMu.Lock()
		moved := l.moved
		l.movedMu.Unlock()
		if l.applied.Load() >= hw {
			return true
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return false
		}
	}
}

// Apply takes one record of the key topic; why names a refusal.
func (l *Ledger) Apply(m bus.Message) (why string, err error) {
	if m.Value == nil {
		// A tombstone is unsigned: only an epoch's, which a rollover
		// writes once its KEK versions are retired, means anything.
		if id, ok := cutEpochKey(m.Key); ok {
			l.mu.Lock()
			if e := l.epochs[id]; e != nil {
				e.retired = true
			}
			l.mu.Unlock()
			return "", nil
		}
		return "tombstone", errors.New("a subject's keys end by an erased record, not a tombstone")
	}
	sig, batch := seal.Headers(m.Headers)
	k, err := l.verifier.Signature(m.Value, sig, batch)
	if err != nil {
		return "forged", err
	}
	r, err := parse(l.domain, m.Key, m.Value)
	if err != nil {
		return "malformed", err
	}
	// The domain's connector starts epochs and makes keys; only a gateway
	// erases, on the controller's order.
	switch gw := l.isGateway(k.Member); {
	case r.Kind != KindErased && (gw || l.keys.MayPublish(k.Member, l.domain)):
	case r.Kind == KindErased && gw:
	default:
		return "forged", fmt.Errorf("%s may not write a %s record of %s", k.Member, r.Kind, l.domain)
	}
	l.mu.Lock()
	why, err = l.applyLocked(r)
	l.mu.Unlock()
	if why == "" && r.Kind == KindErased && l.onErase != nil {
		l.onErase(r.Subject)
	}
	return why, err
}

func cutEpochKey(key []byte) (string, bool) {
	if len(key) > 6 && string(key[:6]) == "epoch/" {
		return string(key[6:]), true
	}
	return "", false
}

func (l *Ledger) applyLocked(r *Record) (string, error) {
	switch r.Kind {
	case KindEpoch:
		if _, seen := l.epochs[r.Epoch]; seen {
			return "", nil // read again, or written again: the same epoch
		}
		v, err := kek.Version(r.KEK)
		if err != nil {
			return "malformed", err
		}
		l.seq++
		l.epochs[r.Epoch] = &epoch{id: r.Epoch, seq: l.seq, kekVersion: v, wrapped: r.KEK}
	case KindKey:
		ep := l.epochs[r.Epoch]
		if ep == nil || ep.retired {
			return "unknown-epoch", fmt.Errorf("key %s of %s names epoch %s, which the topic has not (or no longer) shown", r.KeyID, r.Subject, r.Epoch)
		}
		e := l.subjects[r.Subject]
		switch {
		case e == nil:
			l.subjects[r.Subject] = &entry{keyID: r.KeyID, epoch: ep, wrapped: r.Wrapped}
		case slices.Contains(e.erased, r.KeyID):
			return "erased", fmt.Errorf("key %s of %s was erased", r.KeyID, r.Subject)
		case e.keyID == "":
			e.keyID, e.epoch, e.wrapped = r.KeyID, ep, r.Wrapped // a new key after an erasure
		case e.keyID != r.KeyID:
			return "conflict", fmt.Errorf("%s has key %s already; one key per citizen per domain", r.Subject, e.keyID)
		case ep.seq < e.epoch.seq:
			return "stale", fmt.Errorf("key %s of %s wrapped under an older epoch than the one held", r.KeyID, r.Subject)
		default:
			e.epoch, e.wrapped = ep, r.Wrapped // wrapped again by a rollover
		}
	case KindErased:
		e := l.subjects[r.Subject]
		if e == nil {
			e = &entry{}
			l.subjects[r.Subject] = e
		}
		for _, id := range r.Erasure.KeyIDs {
			if !slices.Contains(e.erased, id) {
				e.erased = append(e.erased, id)
			}
		}
		if slices.Contains(e.erased, e.keyID) {
			e.keyID, e.epoch, e.wrapped = "", nil, nil
		}
	}
	return "", nil
}

// Key returns the data key id of subject in the domain, to open a record
// sealed with it. A key erased is fieldcrypt.ErrShredded; a KEK out of
// reach wraps kek.ErrUnavailable, which a reader answers with "try
// later", never with the record in part or a guess.
func (l *Ledger) Key(ctx context.Context, subject string, id fieldcrypt.KeyID) ([32]byte, error) {
	l.movedMu.Lock()
	following := l.client != nil
	l.movedMu.Unlock()
	return l.key(ctx, subject, id, !following)
}

func (l *Ledger) key(ctx context.Context, subject string, id fieldcrypt.KeyID, retried bool) ([32]byte, error) {
	keyID := hexID(id)
	l.mu.RLock()
	e := l.subjects[subject]
	var (
		ep      *epoch
		wrapped []byte
		erased  bool
		held    string
	)
	if e != nil {
		ep, wrapped, erased, held = e.epoch, e.wrapped, slices.Contains(e.erased, keyID), e.keyID
	}
	l.mu.RUnlock()
	switch {
	case erased:
		return [32]byte{}, fmt.Errorf("%w: key %s of %s was erased", fieldcrypt.ErrShredded, keyID, subject)
	case e == nil || held == "" || held != keyID:
		// Not held yet, maybe: the key was written before the record,
		// on the key topic, which the follower may not have read so far.
		if !l.Ready() {
			return [32]byte{}, ErrLagging
		}
		if !retried && l.sync(ctx) {
			return l.key(ctx, subject, id, true)
		}
		if !retried {
			return [32]byte{}, fmt.Errorf("%w: %s's key %s", ErrLagging, subject, keyID)
		}
		if e == nil || held == "" {
			return [32]byte{}, fmt.Errorf("%w: %s has no key %s", ErrUnknownKey, subject, keyID)
		}
		return [32]byte{}, fmt.Errorf("%w: %s's key is %s, the record names %s", ErrForged, subject, held, keyID)
	}
	ek, err := l.epochKey(ctx, ep)
	if err != nil {
		return [32]byte{}, err
	}
	return unwrap(ek, l.domain, subject, keyID, wrapped)
}

// epochKey unwraps an epoch key once, with one call to the KEK.
func (l *Ledger) epochKey(ctx context.Context, ep *epoch) (*[32]byte, error) {
	ep.once.Lock()
	defer ep.once.Unlock()
	if ep.key != nil {
		return ep.key, nil
	}
	b, err := l.kek.Unwrap(ctx, l.domain, ep.wrapped, epochAAD(l.domain, ep.id))
	switch {
	case errors.Is(err, kek.ErrRefused):
		return nil, fmt.Errorf("%w: epoch %s of %s: %w", fieldcrypt.ErrShredded, ep.id, l.domain, err)
	case err != nil:
		return nil, err
	case len(b) != 32:
		return nil, fmt.Errorf("%w: epoch key of %d bytes", ErrForged, len(b))
	}
	ep.key = (*[32]byte)(b)
	return ep.key, nil
}

// current is the epoch new keys are wrapped under: the one wrapped by the
// newest KEK version, the latest of those in the topic's order. An old
// epoch record written again cannot become it.
func (l *Ledger) currentLocked() *epoch {
	var cur *epoch
	for _, e := range l.epochs {
		if e.retired {
			continue
		}
		if cur == nil || e.kekVersion > cur.kekVersion || (e.kekVersion == cur.kekVersion && e.seq > cur.seq) {
			cur = e
		}
	}
	return cur
}

// Ensure returns the data key of each subject, making one for each that
// has none (or whose keys were erased). New keys, and a first epoch when
// the domain has none, come back as records to publish, signed, before
// any record sealed with them: the ledger holds them from now on, and
// reading them back changes nothing.
func (l *Ledger) Ensure(ctx context.Context, subjects []string, now time.Time) (map[string]fieldcrypt.DataKey, []*Record, error) {
	if !l.Ready() {
		return nil, nil, ErrLagging
	}
	var fresh []*Record
	l.mu.Lock()
	cur := l.currentLocked()
	l.mu.Unlock()
	if cur == nil {
		r, err := l.NewEpoch(ctx, now)
		if err != nil {
			return nil, nil, err
		}
		fresh = append(fresh, r)
		l.mu.Lock()
		cur = l.currentLocked()
		l.mu.Unlock()
	}
	ek, err := l.epochKey(ctx, cur)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]fieldcrypt.DataKey, len(subjects))
	for _, s := range subjects {
		if _, done := out[s]; done {
			continue
		}
		l.mu.RLock()
		e := l.subjects[s]
		var held string
		var ep *epoch
		var wrapped []byte
		if e != nil {
			held, ep, wrapped = e.keyID, e.epoch, e.wrapped
		}
		l.mu.RUnlock()
		if held != "" {
			k, err := l.epochKey(ctx, ep)
			if err != nil {
				return nil, nil, err
			}
			key, err := unwrap(k, l.domain, s, held, wrapped)
			if err != nil {
				return nil, nil, err
			}
			id, _ := KeyIDOf(held)
			out[s] = fieldcrypt.DataKey{ID: id, Key: key}
			continue
		}
		var dk fieldcrypt.DataKey
		rand.Read(dk.ID[:])
		rand.Read(dk.Key[:])
		r := &Record{Kind: KindKey, Domain: l.domain, Epoch: cur.id, Subject: s, KeyID: hexID(dk.ID),
			Wrapped: wrap(ek, l.domain, s, dk), Time: now}
		l.mu.Lock()
		why, err := l.applyLocked(r)
		l.mu.Unlock()
		if why != "" {
			return nil, nil, fmt.Errorf("datakeys: new key of %s: %s: %w", s, why, err)
		}
		fresh = append(fresh, r)
		out[s] = dk
	}
	return out, fresh, nil
}

// NewEpoch makes a new epoch key, wrapped by the KEK's latest version,
// and holds it as the current epoch; the record is to publish.
func (l *Ledger) NewEpoch(ctx context.Context, now time.Time) (*Record, error) {
	var key [32]byte
	var id [fieldcrypt.KeyIDSize]byte
	rand.Read(key[:])
	rand.Read(id[:])
	eid := hex.EncodeToString(id[:])
	w, err := l.kek.Wrap(ctx, l.domain, key[:], epochAAD(l.domain, eid))
	if err != nil {
		return nil, err
	}
	r := &Record{Kind: KindEpoch, Domain: l.domain, Epoch: eid, KEK: w, Time: now}
	l.mu.Lock()
	defer l.mu.Unlock()
	if why, err := l.applyLocked(r); why != "" {
		return nil, err
	}
	l.epochs[eid].key = &key
	return r, nil
}

// Messages are records as records of the key topic, signed by sealer
// as a batch: one signature over their Merkle root, verified once by a
// reader of millions of keys.
func Messages(ctx context.Context, sealer *seal.Sealer, records []*Record) ([]bus.Message, error) {
	values := make([][]byte, len(records))
	for i, r := range records {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		values[i] = b
	}
	sigs, err := sealer.SignBatch(ctx, values)
	if err != nil {
		return nil, err
	}
	out := make([]bus.Message, len(records))
	for i, r := range records {
		out[i] = bus.Message{Topic: bus.KeyTopic(r.Domain), Key: []byte(r.Key()), Value: values[i],
			Headers: []bus.Header{{Key: seal.HeaderBatch, Value: sigs[i]}}}
	}
	return out, nil
}

func hexID(id fieldcrypt.KeyID) string { return hex.EncodeToString(id[:]) }

// Erase returns the erased record that destroys subject's key in the
// domain, for a gateway to sign and publish; nil if the ledger holds no
// live key of the subject (nothing to destroy, or erased already).
func (l *Ledger) Erase(subject string, e Erasure, now time.Time) *Record {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ent := l.subjects[subject]
	if ent == nil || ent.keyID == "" {
		return nil
	}
	e.KeyIDs = []string{ent.keyID}
	return &Record{Kind: KindErased, Domain: l.domain, Subject: subject, Erasure: &e, Time: now}
}
