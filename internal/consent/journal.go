package consent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/policy"
)

// Event is a consent and its new status, as written on
// passerelle.consent.v1 (keyed by consent id, compacted: the latest event of
// a consent is its state). The value is JSON, signed per record by the
// gateway that recorded it. Consent.Version orders a consent's events:
// the state only moves to a higher one (Memory.Apply).
type Event struct {
	Consent policy.Consent `json:"consent"`
	By      string         `json:"by"` // the consent-collector member
	Time    time.Time      `json:"time"`
}

// ErrLagging means the consent state has not caught up with the topic; a
// gateway in that state refuses (fails closed) rather than decide on
// stale consents.
var ErrLagging = errors.New("consent state is not caught up with passerelle.consent.v1")

// Journal writes consent events and keeps a Memory store in step with the
// topic.
type Journal struct {
	store    *Memory
	writer   *bus.Writer
	sealer   *seal.Sealer
	verifier *seal.Verifier
	registry *trust.Store
	log      *slog.Logger
	ready    atomic.Bool
	rejected *prometheus.CounterVec
}

// NewJournal records with writer, signing with sealer (the gateway's key),
// and trusts events whose signer holds the gateway role in the registry.
// reg, if not nil, registers its series.
func NewJournal(store *Memory, writer *bus.Writer, sealer *seal.Sealer, registry *trust.Store, reg prometheus.Registerer, log *slog.Logger) *Journal {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	j := &Journal{store: store, writer: writer, sealer: sealer, verifier: seal.NewVerifier(registry), registry: registry,
		log: log.With("component", "consent"),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_consent_events_rejected_total",
			Help: "Events of passerelle.consent.v1 that changed nothing, by reason: forged, unreadable, invalid, stale (a replay of an earlier state), lifecycle (a revoked consent brought back).",
		}, []string{"reason"})}
	if reg != nil {
		reg.MustRegister(j.rejected)
	}
	return j
}

// Rejected is the counter of refused consent events, by reason.
func (j *Journal) Rejected(reason string) prometheus.Counter {
	return j.rejected.WithLabelValues(reason)
}

// Store is the state the journal keeps.
func (j *Journal) Store() *Memory { return j.store }

// Record writes ev durably, then applies it: once Record returns, every
// later decision of this gateway sees it. ev.Consent.Version must be one
// more than the version held (Next).
func (j *Journal) Record(ctx context.Context, ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	sigs, err := j.sealer.SignEach(ctx, [][]byte{b})
	if err != nil {
		return err
	}
	m := bus.Message{Topic: bus.TopicConsent, Key: []byte(ev.Consent.ID), Value: b,
		Headers: []bus.Header{{Key: seal.HeaderSig, Value: sigs[0]}}}
	if err := j.writer.Write(ctx, m); err != nil {
		return fmt.Errorf("record consent %s: %w", ev.Consent.ID, err)
	}
	if why, err := j.apply(ev); err != nil || why != "" {
		// Written, so in force once read back wherever it wins; here a
		// concurrent change of the same version won first.
		return fmt.Errorf("record consent %s: %w", ev.Consent.ID, errors.Join(err, ErrConflict))
	}
	return nil
}

// ErrConflict: another change of the consent, made at the same time from
// the same version, took precedence.
var ErrConflict = errors.New("the consent was changed at the same time by another request")

// apply takes ev into the state; why is a refusal reason, err an invalid
// consent.
func (j *Journal) apply(ev Event) (why string, err error) {
	c := ev.Consent
	if err := c.Prepare(); err != nil {
		return "", err
	}
	if c.Version < 1 {
		return "", errors.New("no version")
	}
	return j.store.Apply(&c), nil
}

// Follow reads the topic from the beginning and keeps following it; Ready
// turns true once it has caught up.
func (j *Journal) Follow(ctx context.Context, client *bus.Client) error {
	return client.Replay(ctx, bus.TopicConsent, bus.ReplayOptions{Follow: true, CaughtUp: func() { j.ready.Store(true) }},
		func(m bus.Message) error {
			var sig []byte
			for _, h := range m.Headers {
				if h.Key == seal.HeaderSig {
					sig = h.Value
				}
			}
			k, err := j.verifier.Signature(m.Value, sig, nil)
			if m, merr := j.registry.Current().Member(k.Member); err == nil && (merr != nil || !m.Has(trust.RoleGateway)) {
				err = fmt.Errorf("signed by %s, not a gateway", k.Member)
			}
			if err != nil {
				j.refuse("forged", m, err)
				return nil
			}
			var ev Event
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				j.refuse("unreadable", m, err)
				return nil
			}
			switch why, err := j.apply(ev); {
			case err != nil:
				j.refuse("invalid", m, err)
			case why != "":
				j.refuse(why, m, fmt.Errorf("consent %s version %d %s", ev.Consent.ID, ev.Consent.Version, ev.Consent.Status))
			}
			return nil
		})
}

func (j *Journal) refuse(why string, m bus.Message, err error) {
	j.rejected.WithLabelValues(why).Inc()
	j.log.Warn("consent event refused", "offset", m.Offset, "reason", why, "err", err)
}

// Lookup implements the gateway's ConsentLookup; it fails closed while the
// state lags, by reporting ErrLagging through Ready.
func (j *Journal) Lookup(citizen, requester, purpose string) *policy.Consent {
	return j.store.Lookup(citizen, requester, purpose)
}

// Ready is nil once the state has caught up with the topic.
func (j *Journal) Ready() error {
	if !j.ready.Load() {
		return ErrLagging
	}
	return nil
}
