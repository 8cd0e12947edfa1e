package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/consent"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Parts are what a gateway is assembled from; the demo and the gateway
// command supply them from their configuration.
type Parts struct {
	// ID is the gateway's id: the audience of request tokens.
	ID      string
	Log     *slog.Logger
	Metrics *prometheus.Registry
	Bus     *bus.Client
	Trust   *trust.Store
	Rules   *policy.RuleSet
	Schemas *schemas.Catalog
	Pseudo  *pseudo.Pseudonymizer
	// Signer is the gateway's own member key, for the consent events.
	Signer seal.Signer
	// Index holds the view: view.NewMemory() or view.OpenDisk(...).
	Index view.Store
	// AuditTopic defaults to passerelle.audit.v1; tests give each run its
	// own, created if missing.
	AuditTopic string
	// CheckpointInterval defaults to audit.DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// AuditIndex is the bbolt file of the audit trail (audit.OpenTrail);
	// empty keeps the trail in memory and rereads the topic at each start.
	AuditIndex string
}

// Start builds the view and the consent state from the topics (following
// them until ctx ends) and returns the HTTP handler, ready once both have
// caught up, and a function releasing what Start opened.
func Start(ctx context.Context, p Parts) (http.Handler, func(), error) {
	if p.ID == "" || p.Bus == nil || p.Trust == nil || p.Rules == nil || p.Schemas == nil || p.Pseudo == nil || p.Signer == nil || p.Index == nil {
		return nil, nil, errors.New("gateway: every part is required")
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	ix := view.New(p.Index, schemas.NewCodec(p.Schemas), p.Trust, p.Metrics, p.Log)
	var viewErr atomic.Pointer[error]
	go func() {
		if err := ix.Run(ctx, p.Bus); err != nil && ctx.Err() == nil {
			p.Log.Error("view stopped", "err", err)
			viewErr.Store(&err)
		}
	}()
	topic := p.AuditTopic
	if topic == "" {
		topic = bus.TopicAudit
	} else if err := p.Bus.EnsureTopics(ctx, bus.TopicSpec{Name: topic, Partitions: 1, Cleanup: bus.CleanupDelete, KeepForever: true}); err != nil {
		return nil, nil, err
	}
	if p.CheckpointInterval <= 0 {
		p.CheckpointInterval = audit.DefaultCheckpointInterval
	}
	noteSigner, err := audit.GatewayNoteSigner(p.Signer, p.Trust)
	if err != nil {
		return nil, nil, err
	}
	sealer := seal.NewSealer(p.Signer)
	w := audit.NewWriter(p.Bus, nil)
	trail, err := openTrail(ctx, p, topic)
	if err != nil {
		return nil, nil, err
	}
	doubt := ""
	if p.AuditIndex != "" {
		doubt = p.AuditIndex + ".doubt"
	}
	auditLog, err := audit.NewLog(w, sealer, audit.LogOptions{Topic: topic, Log: p.Log, Metrics: p.Metrics, Expect: trail.Expect, DoubtFile: doubt})
	if err != nil {
		trail.Close()
		return nil, nil, err
	}
	go auditLog.Run(context.Background()) // the release func's Close stops it
	go func() {
		if err := trail.Follow(ctx, p.Bus, p.Log); err != nil && ctx.Err() == nil {
			p.Log.Error("audit trail stopped", "err", err)
		}
	}()
	publisher := audit.NewPublisher(trail, noteSigner, auditLog, p.Log)
	go publisher.Run(ctx, p.CheckpointInterval)
	journal := consent.NewJournal(consent.NewMemory(), w, sealer, p.Trust, p.Metrics, p.Log)
	go func() {
		if err := journal.Follow(ctx, p.Bus); err != nil && ctx.Err() == nil {
			p.Log.Error("consent state stopped", "err", err)
		}
	}()
	auth := trust.NewAuthenticator(p.Trust, p.ID, nil)
	auth.ConsultLog(trail.TokenSeen)
	guard := &Guard{Auth: auth, Audit: auditLog, Pseudo: p.Pseudo, Trail: trail, Log: p.Log, Now: time.Now}
	h := NewHandler(Options{
		Log: p.Log, Metrics: p.Metrics, Schemas: p.Schemas, Trust: p.Trust, Policy: p.Rules,
		Citizens: &Citizens{Guard: guard, Log: p.Log, Rules: p.Rules, Index: ix, Pseudo: p.Pseudo, Consents: journal,
			Limits: NewLimits(trail)},
		Consents: &Consents{Guard: guard, Journal: journal, Rules: p.Rules, Pseudo: p.Pseudo, Trust: p.Trust},
		Audit:    &Audit{Guard: guard, Trail: trail, Publisher: publisher, Pseudo: p.Pseudo, Trust: p.Trust},
		Ready: Readiness(p.Bus, topic, auditLog, journal, trail, ix, func() error {
			if err := viewErr.Load(); err != nil {
				return fmt.Errorf("stopped: %w", *err)
			}
			return nil
		}),
	})
	return h, func() {
		auditLog.Close()
		w.Close()
		if err := trail.Close(); err != nil {
			p.Log.Error("audit index not saved", "err", err)
		}
		p.Index.Close()
	}, nil
}

func openTrail(ctx context.Context, p Parts, topic string) (*audit.Trail, error) {
	o := audit.TrailOptions{Topic: topic, KeepEvents: true, Metrics: p.Metrics}
	if p.AuditIndex == "" {
		return audit.NewTrail(p.Trust, o), nil
	}
	trail, err := audit.OpenTrail(p.Trust, p.AuditIndex, o)
	if err != nil {
		return nil, err
	}
	if err := trail.CheckResume(ctx, p.Bus); err != nil {
		trail.Close()
		return nil, err
	}
	return trail, nil
}

// Readiness is what /readyz checks: the broker answering (a round trip to
// the audit partition's leader: metadata would come from the client's
// cache and say yes to a stopped broker), the audit log's last write, and
// the view, the consents and the trail caught up with the log; viewErr
// says whether the view's followers stopped.
func Readiness(b *bus.Client, auditTopic string, log *audit.Log, journal *consent.Journal, trail *audit.Trail, ix *view.Index, viewErr func() error) map[string]Check {
	return map[string]Check{
		"kafka": func(ctx context.Context) error {
			_, err := b.HighWatermark(ctx, auditTopic, 0)
			return err
		},
		"audit-log": func(context.Context) error { return log.Healthy() },
		"consents":  func(context.Context) error { return journal.Ready() },
		"audit":     closed(trail.Ready(), "still reading the audit topic"),
		"view": func(ctx context.Context) error {
			if err := viewErr(); err != nil {
				return err
			}
			return closed(ix.Ready(), "still reading the domain topics")(ctx)
		},
	}
}

// closed is ready once ch is closed.
func closed(ch <-chan struct{}, notYet string) Check {
	return func(context.Context) error {
		select {
		case <-ch:
			return nil
		default:
			return errors.New(notYet)
		}
	}
}
