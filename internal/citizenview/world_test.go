package citizenview_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/consent"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

// gatewayID is the member whose key signs the audit events.
const gatewayID = "passerelle-gateway"

// world is what a citizen view is answered from, without HTTP: an
// embedded broker holding a small population's records of three domains,
// the view built from them, the policy, the consents and an audit topic.
// Each gateway (gateway) writes and follows that topic with a log and a
// trail of its own, as another instance of the gateway would.
type world struct {
	ctx      context.Context
	client   *bus.Client
	store    *trust.Store
	signer   seal.Signer
	keys     *pseudo.FileKeyring
	pseudo   *pseudo.Pseudonymizer
	rules    *policy.RuleSet
	codec    *schemas.Codec
	index    *view.Index
	consents *consents
	topic    string
	adults   []string // NIRs of living adults: one per test that counts a limit
}

// consents is the consent state, caught up unless lag says otherwise.
type consents struct {
	*consent.Memory
	lag error
}

func (c *consents) Ready() error { return c.lag }

// worldDomains are the domains the world publishes: enough for a rule
// allowed outright, one that needs a consent (health) and one whose
// records age (tax).
var worldDomains = []string{"civilstatus", "tax", "health"}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := bustest.Embedded(t).Client(t)
	if err := client.EnsureTopics(ctx, domains.Topics(3)...); err != nil {
		t.Fatal(err)
	}
	var members []trust.MemberSpec
	for _, p := range domains.Publishers() {
		m := trust.MemberSpec{ID: p.ID, Name: p.Name, Roles: []string{trust.RoleReader}}
		for _, d := range p.Domains {
			m.Roles = append(m.Roles, trust.PublisherRole(d))
		}
		members = append(members, m)
	}
	members = append(members, trust.MemberSpec{ID: gatewayID, Name: "Passerelle gateway", Roles: []string{"gateway"}})
	tw := trusttest.New(t, members)
	kr := pseudo.NewFileKeyring(filepath.Join(tw.Dir, "pseudo"))
	if err := kr.Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		t.Fatal(err)
	}
	pop := synth.Generate(60, 21, synth.Options{DefectRate: synth.NoDefects})
	cat, _ := domains.Catalog()
	codec := schemas.NewCodec(cat)
	files := t.TempDir()
	for _, name := range worldDomains {
		d, _ := domains.ByName(name)
		if err := connect.WriteSynthetic(ctx, d, d.Synth(pop), files); err != nil {
			t.Fatal(err)
		}
		c, err := connect.Open(ctx, connect.Config{Member: d.Publisher.ID, Domain: d.Name, Source: connect.SyntheticSource(d, files),
			Data: tw.Dir, Kafka: client.Config()}, connect.Deps{Bus: client, Codec: codec})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Run(ctx, true); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	store := tw.Store(t)
	ix := view.New(view.NewMemory(), codec, store, nil, nil)
	bustest.Follow(t, ctx, func(ctx context.Context) { ix.Run(ctx, client) })
	wait(t, "the view", ix.Ready())
	rules, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{ctx: ctx, client: client, store: store, signer: tw.Signer(t, gatewayID), keys: kr, pseudo: pseudo.New(kr),
		rules: rules, codec: codec, index: ix, consents: &consents{Memory: consent.NewMemory()}, topic: bustest.Topic(t, client, 1)}
	for _, c := range pop.Citizens {
		if c.Age(pop.AsOf) > 30 && c.Alive() {
			w.adults = append(w.adults, c.NIR)
		}
	}
	if len(w.adults) < 12 {
		t.Fatalf("%d adults in the population: the tests want a dozen", len(w.adults))
	}
	return w
}

// gateway is one instance answering views on the world's audit topic: its
// own audit log (a writer of its own), its trail on disk and its holds.
func (w *world) gateway(t *testing.T) *citizenview.Service {
	t.Helper()
	trail := w.trail(t, w.ctx)
	aw := audit.NewWriter(w.client, nil)
	log, err := audit.NewLog(aw, seal.NewSealer(w.signer), audit.LogOptions{Topic: w.topic, Expect: trail.Expect,
		DoubtFile: filepath.Join(t.TempDir(), "audit.doubt")})
	if err != nil {
		t.Fatal(err)
	}
	go log.Run(context.Background()) // Close stops it
	t.Cleanup(func() { log.Close(); aw.Close() })
	return &citizenview.Service{Rules: w.rules, Index: w.index, Pseudo: w.pseudo, Consents: w.consents,
		Audit: log, Trail: trail, Limits: citizenview.NewLimits(trail), Log: slog.New(slog.DiscardHandler)}
}

// trail follows the world's audit topic until ctx ends, on disk as a
// gateway configured with audit.index keeps it, saving every few records
// so that counts read the disk too; it returns once it has caught up.
func (w *world) trail(t *testing.T, ctx context.Context) *audit.Trail {
	t.Helper()
	trail, err := audit.OpenTrail(w.store, filepath.Join(t.TempDir(), "audit.db"), audit.TrailOptions{Topic: w.topic, SaveEvery: 5, KeepEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	bustest.Follow(t, ctx, func(ctx context.Context) { trail.Follow(ctx, w.client, nil) })
	wait(t, "the audit trail", trail.Ready())
	return trail
}

var tokens atomic.Int64

// request asks as member, with a token of its own, about nir for purpose.
func request(s *citizenview.Service, member, nir, purpose string, fields ...string) citizenview.Request {
	now := time.Now()
	return citizenview.Request{Requester: member, From: s.Trail.Next(), Route: "test", NIR: nir, Purpose: purpose, Fields: fields, Time: now,
		Token: citizenview.Token{ID: fmt.Sprintf("token-%d-%d", now.UnixNano(), tokens.Add(1)), KeyID: member + "-key", Expiry: now.Add(time.Minute)}}
}

// events returns the events of the world's topic that carry token, once
// trail has read every record written so far.
func events(t *testing.T, trail *audit.Trail, token string) []audit.Entry {
	t.Helper()
	synced(t, trail)
	all, _, err := trail.Events(audit.Filter{After: -1})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range all {
		if e.Token == token {
			out = append(out, e)
		}
	}
	return out
}

// synced returns once trail has read every record written so far.
func synced(t *testing.T, trail *audit.Trail) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := trail.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func wait(t *testing.T, what string, ready <-chan struct{}) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s never caught up", what)
	}
}
