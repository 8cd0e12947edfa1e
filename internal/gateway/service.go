package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/internal/consent"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/stats/budget"
	"github.com/passerelle-bus/passerelle/internal/supervise"
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
	// Index holds the view: view.NewMemory() or view.OpenDisk(...). The
	// gateway closes it when it stops, or when Start fails.
	Index view.Store
	// AuditTopic defaults to passerelle.audit.v1; tests give each run its
	// own, created if missing.
	AuditTopic string
	// BudgetTopic defaults to passerelle.stats.budget.v1; tests give each
	// run its own, created if missing.
	BudgetTopic string
	// StatsPeriod is how long a statistics snapshot serves
	// (stats.DefaultPeriod if zero).
	StatsPeriod time.Duration
	// CheckpointInterval defaults to audit.DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// AuditIndex is the bbolt file of the audit trail (audit.OpenTrail);
	// empty keeps the trail in memory and rereads the topic at each start.
	AuditIndex string
	// KEK unwraps each domain's epoch keys (internal/kek), to open the
	// records whose personal fields are sealed; nil holds them unopened
	// and never serves them.
	KEK kek.KEK
	// Group runs the gateway's parts; nil gives the gateway a group of its
	// own. A process that runs more beside the gateway (the demo's
	// connectors, the registry watcher) passes its group: /readyz then
	// reports each of its parts, those started after the gateway too.
	Group *supervise.Group
}

// Names of the gateway's parts in its group and in /readyz: those of a
// readiness check are the check's name too.
const (
	PartView        = "view"        // the view's followers of the domain topics
	PartTrail       = "audit"       // the audit trail following the audit topic
	PartAuditLog    = "audit-log"   // the audit log's group commit
	PartCheckpoints = "checkpoints" // the checkpoint publisher
	PartConsents    = "consents"    // the consent state following its topic
	PartBudget      = "budget"      // the privacy budget ledger following its topic
	PartDataKeys    = "data-keys"   // each domain's key ledger following its key topic
)

// stopOnError bounds the stop of a group of the gateway's own when Start
// fails: ctx may have ended, which is maybe why it failed.
const stopOnError = 10 * time.Second

// Gateway is a started gateway: its HTTP handler and the parts serving it.
type Gateway struct {
	Handler http.Handler
	parts   *supervise.Group
}

// Stop stops every part of the gateway's group (those the caller started
// in it too) and waits for them until ctx ends: the audit log commits
// what is queued and the voids waiting, the trail saves its index. Stop
// the HTTP server first, so that the requests it finishes are in the log.
func (g *Gateway) Stop(ctx context.Context) error { return g.parts.Stop(ctx) }

// Start builds the view and the consent state from the topics, following
// them until Stop, and returns the gateway, whose handler is ready once
// both have caught up. On error, parts already started in p.Group are left
// to its owner to stop; a group of the gateway's own is stopped.
func Start(ctx context.Context, p Parts) (_ *Gateway, err error) {
	if p.ID == "" || p.Bus == nil || p.Trust == nil || p.Rules == nil || p.Schemas == nil || p.Pseudo == nil || p.Signer == nil || p.Index == nil {
		return nil, errors.New("gateway: every part is required")
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Group == nil {
		p.Group = supervise.New(p.Log)
		defer func() {
			if err != nil {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopOnError)
				defer cancel()
				err = errors.Join(err, p.Group.Stop(sctx))
			}
		}()
	}
	topic := p.AuditTopic
	if topic == "" {
		topic = bus.TopicAudit
	} else if err := p.Bus.EnsureTopics(ctx, bus.TopicSpec{Name: topic, Partitions: 1, Cleanup: bus.CleanupDelete, KeepForever: true}); err != nil {
		return nil, errors.Join(err, p.Index.Close())
	}
	if p.CheckpointInterval <= 0 {
		p.CheckpointInterval = audit.DefaultCheckpointInterval
	}
	noteSigner, err := audit.GatewayNoteSigner(p.Signer, p.Trust)
	if err != nil {
		return nil, errors.Join(err, p.Index.Close())
	}
	sealer := seal.NewSealer(p.Signer)
	trail, err := openTrail(ctx, p, topic)
	if err != nil {
		return nil, errors.Join(err, p.Index.Close())
	}
	doubt := ""
	if p.AuditIndex != "" {
		doubt = p.AuditIndex + ".doubt"
	}
	w := audit.NewWriter(p.Bus, nil)
	auditLog, err := audit.NewLog(w, sealer, audit.LogOptions{Topic: topic, Log: p.Log, Metrics: p.Metrics, Expect: trail.Expect, DoubtFile: doubt})
	if err != nil {
		return nil, errors.Join(err, w.Close(), trail.Close(), p.Index.Close())
	}
	ix := view.New(p.Index, schemas.NewCodec(p.Schemas), p.Trust, p.Metrics, p.Log)
	opener, err := link.NewOpener(ctx, p.Pseudo.Keyring(), domains.Names())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("gateway: linkage keys: %w", err), w.Close(), trail.Close(), p.Index.Close())
	}
	statsIx := stats.NewIndex(opener, p.Trust, p.Metrics, p.Log)
	statsIx.Keep(p.Rules.Aggregates())
	ix.Observe(statsIx)
	// An erased citizen leaves the statistics' columns at once (a
	// snapshot already protected keeps its aggregates until its period
	// ends); the view serves nothing of them, its keys being gone.
	keys, err := dataKeys(p, ix, func(domain, subject string) {
		statsIx.Observe(domain, view.Observed{Meta: &schemas.Meta{Subject: subject}, Deleted: true})
	})
	if err != nil {
		return nil, errors.Join(err, w.Close(), trail.Close(), p.Index.Close())
	}
	budgetTopic := p.BudgetTopic
	if budgetTopic == "" {
		budgetTopic = bus.TopicBudget
	}
	// Created if missing, whatever its name: a cluster set up before
	// statistics existed has every other topic but this one.
	if err := p.Bus.EnsureTopics(ctx, bus.TopicSpec{Name: budgetTopic, Partitions: 1, Cleanup: bus.CleanupDelete, KeepForever: true}); err != nil {
		return nil, errors.Join(err, w.Close(), trail.Close(), p.Index.Close())
	}
	ledger := budget.New(p.Bus, budgetTopic, p.Log)
	publisher := audit.NewPublisher(trail, noteSigner, auditLog, p.Log)
	journal := consent.NewJournal(consent.NewMemory(), w, sealer, p.Trust, p.Metrics, p.Log)
	// Closed in reverse: the writer once the log and the consents are
	// done with it, the trail's and the view's files last.
	parts := []supervise.Part{
		{Name: PartDataKeys, Run: keys.run, Ready: keys.ready},
		// The view reads the domain topics once the keys are read, so
		// that its observer opens every sealed record it hears of.
		{Name: PartView, Run: func(ctx context.Context) error {
			select {
			case <-keys.ready:
			case <-ctx.Done():
				return nil
			}
			return ix.Run(ctx, p.Bus)
		}, Ready: ix.Ready(), Close: p.Index.Close},
		{Name: PartTrail, Run: func(ctx context.Context) error { return trail.Follow(ctx, p.Bus, p.Log) }, Ready: trail.Ready(), Close: trail.Close},
		{Name: PartAuditLog, Run: auditLog.Run, Close: func() error { auditLog.Close(); return w.Close() }},
		{Name: PartCheckpoints, Run: func(ctx context.Context) error { publisher.Run(ctx, p.CheckpointInterval); return nil }},
		{Name: PartConsents, Run: func(ctx context.Context) error { return journal.Follow(ctx, p.Bus) }},
		{Name: PartBudget, Run: ledger.Run, Ready: ledger.Ready()},
	}
	for i, part := range parts {
		if err := p.Group.Start(ctx, part); err != nil {
			for j := len(parts) - 1; j >= i; j-- { // the group closes those started
				if parts[j].Close != nil {
					err = errors.Join(err, parts[j].Close())
				}
			}
			return nil, err
		}
	}
	auth := trust.NewAuthenticator(p.Trust, p.ID, nil)
	auth.ConsultLog(trail.TokenSeen)
	guard := &Guard{Auth: auth, Audit: auditLog, Pseudo: p.Pseudo, Trail: trail, Log: p.Log, Now: time.Now}
	h := NewHandler(Options{
		Log: p.Log, Metrics: p.Metrics, Schemas: p.Schemas, Trust: p.Trust, Policy: p.Rules,
		Citizens: &Citizens{Guard: guard, Service: &citizenview.Service{Rules: p.Rules, Index: ix, Pseudo: p.Pseudo, Consents: journal,
			Audit: auditLog, Trail: trail, Limits: citizenview.NewLimits(trail), Log: p.Log}},
		Consents: &Consents{Guard: guard, Journal: journal, Rules: p.Rules, Pseudo: p.Pseudo, Trust: p.Trust},
		Audit:    &Audit{Guard: guard, Trail: trail, Publisher: publisher, Pseudo: p.Pseudo, Trust: p.Trust},
		Aggregates: &Aggregates{Guard: guard, Rules: p.Rules, Stats: &stats.Service{Index: statsIx, Period: p.StatsPeriod},
			Ready: ix.Ready(), Ledger: ledger},
		Erasures: &Erasures{Guard: guard, Pseudo: p.Pseudo, Ledgers: keys.ledgers, Writer: w, Sealer: sealer},
		Ready:    Readiness(p.Bus, topic, auditLog, journal, trail, ix, partFailure(p.Group, PartView)),
		Parts:    p.Group,
	})
	return &Gateway{Handler: h, parts: p.Group}, nil
}

// partFailure is the failure of the part named, if it failed.
func partFailure(g *supervise.Group, name string) func() error {
	return func() error {
		for _, h := range g.Health() {
			if h.Name == name && h.State == supervise.Failed {
				return h.Problem()
			}
		}
		return nil
	}
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
// says whether the view's followers stopped. The parts of the gateway's
// group are reported beside these checks (Options.Parts).
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
