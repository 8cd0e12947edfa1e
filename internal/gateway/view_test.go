package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/consent"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/datakeys"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/stats/budget"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

const gatewayID = "passerelle-gateway"

// viewMembers are each domain's publisher, also a reader, and the others.
var viewMembers = append(publishers(),
	trust.MemberSpec{ID: "cnil", Name: "CNIL", Roles: []string{"auditor"}},
	trust.MemberSpec{ID: "portail", Name: "Portail citoyen", Roles: []string{"consent-collector"}},
	trust.MemberSpec{ID: "passerelle-gateway", Name: "Passerelle gateway", Roles: []string{"gateway"}},
	// tracer reads every field under a rule of its own (values_test.go).
	trust.MemberSpec{ID: "tracer", Name: "Test reader of every field", Roles: []string{"reader"}},
	trust.MemberSpec{ID: "drees", Name: "DREES", Roles: []string{"decision-maker"}},
	// dpo orders erasures (erasures_test.go).
	trust.MemberSpec{ID: "dpo", Name: "Data-protection officer", Roles: []string{"controller"}},
)

func publishers() []trust.MemberSpec {
	var out []trust.MemberSpec
	for _, p := range domains.Publishers() {
		m := trust.MemberSpec{ID: p.ID, Name: p.Name}
		for _, d := range p.Domains {
			m.Roles = append(m.Roles, trust.PublisherRole(d))
		}
		m.Roles = append(m.Roles, trust.RoleReader)
		out = append(out, m)
	}
	return out
}

type fixture struct {
	srv      *httptest.Server
	guard    *gateway.Guard
	cz       *gateway.Citizens
	adults   []string // NIRs of living adults, for tests that want one each
	everyone []string // every citizen's NIR
	pop      *synth.Population
	world    *trusttest.World
	client   *bus.Client
	consents *consent.Memory
	journal  *consent.Journal
	pseudo   *pseudo.Pseudonymizer
	nir      string

	auditTopic string
	store      *trust.Store
	rules      *policy.RuleSet
	codec      *schemas.Codec
	ctx        context.Context
	// ledgers are the data keys' ledgers of a sealed fixture, nil else.
	ledgers map[string]*datakeys.Ledger
	// auditMetrics holds the audit log's series.
	auditMetrics *prometheus.Registry
	auditLog     *audit.Log
	trail        *audit.Trail
	publisher    *audit.Publisher
	// stats hears the view; each instance spends privacy budget on
	// budgetTopic, shared as one deployment's instances share theirs.
	stats       *stats.Index
	budgetTopic string
}

// startAudit gives a gateway its own audit topic (a shared broker's
// passerelle.audit.v1 holds every other run's events), the log writing it,
// the trail following it and a checkpoint publisher.
func startAudit(t testing.TB, ctx context.Context, client *bus.Client, signer seal.Signer, store *trust.Store, reg prometheus.Registerer, topic string) (*audit.Log, *audit.Trail, *audit.Publisher, string) {
	t.Helper()
	if topic == "" {
		topic = bustest.Topic(t, client, 1)
	}
	aw := audit.NewWriter(client, nil)
	// On disk, as a gateway configured with audit.index keeps it; a test
	// saves every few records, so that its queries read the disk too.
	o := audit.TrailOptions{Topic: topic, SaveEvery: 5}
	if _, bench := t.(*testing.B); bench {
		o.SaveEvery = 0
	}
	dir := t.TempDir()
	trail, err := audit.OpenTrail(store, filepath.Join(dir, "audit.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	log, err := audit.NewLog(aw, seal.NewSealer(signer), audit.LogOptions{Topic: topic, Expect: trail.Expect, Metrics: reg,
		DoubtFile: filepath.Join(dir, "audit.doubt")})
	if err != nil {
		t.Fatal(err)
	}
	go log.Run(context.Background()) // Close stops it
	t.Cleanup(func() { log.Close(); aw.Close() })
	bustest.Follow(t, ctx, func(ctx context.Context) { trail.Follow(ctx, client, slog.New(slog.DiscardHandler)) })
	// A gateway serves once its trail has caught up (readyz says so): the
	// fair-use counts come from it, and views fail closed until then.
	select {
	case <-trail.Ready():
	case <-time.After(time.Minute):
		t.Fatal("audit trail never caught up")
	}
	ns, err := audit.GatewayNoteSigner(signer, store)
	if err != nil {
		t.Fatal(err)
	}
	return log, trail, audit.NewPublisher(trail, ns, log, nil), topic
}

// newFixture publishes a small population through the real connectors
// into the embedded broker, builds the view and serves the gateway.
func newFixture(t *testing.T) *fixture { return newFixtureOn(t, bustest.Embedded(t), 120) }

func newFixtureOn(t testing.TB, tg bustest.Target, citizens int) *fixture {
	return newFixtureOf(t, tg, citizens, domains.Names()...)
}

// newFixtureOf publishes only the domains named: the view benchmark keeps
// the three its figures have always been measured with, since a larger
// view in memory costs every garbage collection more.
func newFixtureOf(t testing.TB, tg bustest.Target, citizens int, names ...string) *fixture {
	return newFixtureWith(t, tg, citizens, false, names...)
}

// newFixtureWith publishes with connectors that seal the personal fields
// when sealed is true; the view opens sealed records with each domain's
// keys, as a gateway with a KEK does.
func newFixtureWith(t testing.TB, tg bustest.Target, citizens int, sealed bool, names ...string) *fixture {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := tg.Client(t)
	if err := client.EnsureTopics(ctx, domains.Topics(3)...); err != nil {
		t.Fatal(err)
	}
	w := trusttest.New(t, viewMembers)
	kr := pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo"))
	kr.Ensure(pseudo.KeyNames(domains.Names())...)
	p := synth.Generate(citizens, 21, synth.Options{DefectRate: synth.NoDefects})
	files := t.TempDir()
	cat, _ := domains.Catalog()
	codec := schemas.NewCodec(cat)
	for _, d := range domains.All() {
		if !slices.Contains(names, d.Name) {
			continue
		}
		if err := connect.WriteSynthetic(ctx, d, d.Synth(p), files); err != nil {
			t.Fatal(err)
		}
		cfg := connect.Config{Member: d.Publisher.ID, Domain: d.Name, Source: connect.SyntheticSource(d, files),
			Data: w.Dir, Kafka: tg.Config(), Seal: sealed}
		c, err := connect.Open(ctx, cfg, connect.Deps{Bus: client, Codec: codec})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Run(ctx, true); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	store := w.Store(t)
	ix := view.New(view.NewMemory(), codec, store, nil, nil)
	opener, err := link.NewOpener(ctx, kr, domains.Names())
	if err != nil {
		t.Fatal(err)
	}
	rules, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	statsIx := stats.NewIndex(opener, store, nil, nil)
	statsIx.Keep(rules.Aggregates())
	ix.Observe(statsIx)
	// The data keys' ledgers follow the key topics whether the records are
	// sealed or not, as a gateway's do: an erasure of a fixture in clear
	// destroys nothing, and says so.
	ledgers := openSealed(t, ctx, ix, client, store, cat, kek.NewFiles(datadir.Dir(w.Dir).KEK()))
	bustest.Follow(t, ctx, func(ctx context.Context) { ix.Run(ctx, client) })
	select {
	case <-ix.Ready():
	case <-time.After(3 * time.Minute): // a shared broker under -race is slow to replay
		t.Fatal("view never caught up")
	}
	f := &fixture{world: w, client: client, consents: consent.NewMemory(), pseudo: pseudo.New(kr), pop: p,
		stats: statsIx, budgetTopic: bustest.Topic(t, client, 1), ledgers: ledgers}
	f.auditMetrics = prometheus.NewRegistry()
	f.store, f.rules, f.ctx, f.codec = store, rules, ctx, codec
	f.auditLog, f.trail, f.publisher, f.auditTopic = startAudit(t, ctx, client, w.Signer(t, gatewayID), store, f.auditMetrics, "")
	cw := client.NewWriter(nil)
	t.Cleanup(func() { cw.Close() })
	f.journal = consent.NewJournal(f.consents, cw, seal.NewSealer(w.Signer(t, "passerelle-gateway")), store, nil, nil)
	bustest.Follow(t, ctx, func(ctx context.Context) { f.journal.Follow(ctx, client) })
	for f.journal.Ready() != nil { // a shared broker may hold earlier runs' consents
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("consent state never caught up")
		}
	}
	for _, c := range p.Citizens {
		f.everyone = append(f.everyone, c.NIR)
		if c.Age(p.AsOf) > 30 && c.Alive() {
			f.adults = append(f.adults, c.NIR)
		}
	}
	f.nir = f.adults[0]
	f.guard, f.cz, f.srv = f.instance(t, ix, f.auditLog, f.trail, f.publisher)
	return f
}

// openSealed has ix open sealed records with a ledger per domain, each
// following its key topic, read to its end before this returns.
func openSealed(t testing.TB, ctx context.Context, ix *view.Index, client *bus.Client, store *trust.Store, cat *schemas.Catalog, k kek.KEK) map[string]*datakeys.Ledger {
	ledgers := map[string]*datakeys.Ledger{}
	for _, d := range domains.Names() {
		l := datakeys.New(d, k, store, datakeys.Options{IsGateway: func(m string) bool { return m == gatewayID }})
		ledgers[d] = l
		bustest.Follow(t, ctx, func(ctx context.Context) { l.Follow(ctx, client) })
		select {
		case <-l.CaughtUp():
		case <-time.After(time.Minute):
			t.Fatalf("the key topic of %s was not read to its end", d)
		}
	}
	opener, err := datakeys.NewOpener(cat, ledgers)
	if err != nil {
		t.Fatal(err)
	}
	ix.Open(opener)
	return ledgers
}

// instance serves a gateway on the fixture's view and consents, writing
// and reading the audit log through log and trail.
func (f *fixture) instance(t testing.TB, ix *view.Index, log *audit.Log, trail *audit.Trail, pub *audit.Publisher) (*gateway.Guard, *gateway.Citizens, *httptest.Server) {
	auth := trust.NewAuthenticator(f.store, gatewayID, nil)
	auth.ConsultLog(trail.TokenSeen)
	guard := &gateway.Guard{Auth: auth, Audit: log, Pseudo: f.pseudo, Trail: trail, Log: slog.New(slog.DiscardHandler), Now: time.Now}
	cz := &gateway.Citizens{Guard: guard, Service: &citizenview.Service{Rules: f.rules, Index: ix, Pseudo: f.pseudo, Consents: f.journal,
		Audit: log, Trail: trail, Limits: citizenview.NewLimits(trail), Log: slog.New(slog.DiscardHandler)}}
	cs := &gateway.Consents{Guard: guard, Journal: f.journal, Rules: f.rules, Pseudo: f.pseudo, Trust: f.store}
	au := &gateway.Audit{Guard: guard, Trail: trail, Publisher: pub, Pseudo: f.pseudo, Trust: f.store}
	ledger := budget.New(f.client, f.budgetTopic, nil)
	bustest.Follow(t, f.ctx, func(ctx context.Context) { ledger.Run(ctx) })
	ag := &gateway.Aggregates{Guard: guard, Rules: f.rules, Stats: &stats.Service{Index: f.stats}, Ready: ix.Ready(), Ledger: ledger}
	ready := gateway.Readiness(f.client, trail.Topic(), log, f.journal, trail, ix, func() error { return nil })
	var er *gateway.Erasures
	if f.ledgers != nil {
		ew := f.client.NewWriter(nil)
		t.Cleanup(func() { ew.Close() })
		er = &gateway.Erasures{Guard: guard, Pseudo: f.pseudo, Ledgers: f.ledgers, Writer: ew, Sealer: seal.NewSealer(f.world.Signer(t, gatewayID))}
	}
	srv := httptest.NewServer(gateway.NewHandler(gateway.Options{Metrics: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler),
		Citizens: cz, Consents: cs, Audit: au, Aggregates: ag, Erasures: er, Trust: f.store, Policy: f.rules, Ready: ready}))
	t.Cleanup(srv.Close)
	return guard, cz, srv
}

// twin starts a second gateway instance on the same log: its own audit
// writer, trail, replay memory and holds, as another pod would have.
func (f *fixture) twin(t testing.TB) *httptest.Server {
	log, trail, pub, _ := startAudit(t, f.ctx, f.client, f.world.Signer(t, gatewayID), f.store, nil, f.auditTopic)
	_, _, srv := f.instance(t, f.cz.Service.Index, log, trail, pub)
	return srv
}

// logged writes events to the audit log, as another gateway would have,
// and waits until the trail has read them.
func (f *fixture) logged(t *testing.T, evs ...audit.Event) {
	t.Helper()
	var last audit.Receipt
	for _, ev := range evs {
		rc, err := f.auditLog.Append(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		last = rc
	}
	if len(evs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := f.trail.CatchUp(ctx, last.Offset); err != nil {
			t.Fatal(err)
		}
	}
}

// do sends a request, with a fresh token of member unless member is "".
func (f *fixture) do(t *testing.T, member, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if member != "" {
		key, _ := f.world.Keys.Current(member)
		tok, err := trust.MintToken(key, member, gatewayID, time.Minute, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+string(tok))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// send is do with a JSON answer.
func (f *fixture) send(t *testing.T, member, method, path string, body any) (int, map[string]any) {
	t.Helper()
	code, b := f.do(t, member, method, path, body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
	}
	return code, out
}

func (f *fixture) get(t *testing.T, member, path string) (int, map[string]any) {
	t.Helper()
	return f.send(t, member, "GET", path, nil)
}

func TestCitizenView(t *testing.T) {
	f := newFixture(t)
	nir := f.nir
	housing := "/v1/citizens/" + nir + "/view?purpose=housing-aid-eligibility&fields="
	disability := "/v1/citizens/" + nir + "/view?purpose=disability-allowance-review&fields="

	code, body := f.get(t, "cnaf", housing+"tax.reference_income,civilstatus.birth_date")
	if code != 200 || body["decision"] != "allow" || body["rule"] != "cnaf-housing-aid-eligibility" {
		t.Fatalf("housing aid: %d %v", code, body)
	}
	fields := body["fields"].(map[string]any)
	income := fields["tax.reference_income"].(map[string]any)
	prov := income["provenance"].(map[string]any)
	if prov["source"] != "dgfip" || prov["record_id"] == "" || prov["key_id"] == "" || income["value"].(map[string]any)["currency"] != "EUR" {
		t.Fatalf("provenance: %v", income)
	}

	// Health needs the citizen's consent: refused, then allowed once given,
	// then refused again as soon as it is revoked.
	code, body = f.get(t, "cnaf", disability+"health.long_term_condition")
	if code != 403 || body["code"] != policy.CodeConsentMissing {
		t.Fatalf("no consent: %d %v", code, body)
	}
	cit, _ := f.pseudo.Audit(context.Background(), []string{nir})
	c := &policy.Consent{ID: "c-1", Citizen: cit[0], Requester: "cnaf", Purpose: "disability-allowance-review",
		Fields: []string{"health.*"}, Start: time.Now().Add(-time.Hour), Expiry: time.Now().Add(time.Hour),
		Mode: policy.ModePeriodic, MaxUses: 5, Period: 24 * time.Hour, Status: policy.ConsentActive, Version: 1}
	c.Prepare()
	f.consents.Apply(c)
	if code, body = f.get(t, "cnaf", disability+"health.long_term_condition"); code != 200 || body["decision"] != "allow" {
		t.Fatalf("with consent: %d %v", code, body)
	}
	revoked := *c
	revoked.Status, revoked.Version = policy.ConsentRevoked, 2
	f.consents.Apply(&revoked)
	if code, body = f.get(t, "cnaf", disability+"health.long_term_condition"); code != 403 || body["code"] != policy.CodeConsentRevoked {
		t.Fatalf("revoked: %d %v", code, body)
	}

	for _, tc := range []struct {
		name, member, path string
		status             int
		code               string
	}{
		{"the tax office does not read health", "dgfip", "/v1/citizens/" + nir + "/view?purpose=tax-assessment&fields=health.scheme", 403, policy.CodeFieldNotAllowed},
		{"a member without a rule", "cnam", housing + "tax.reference_income", 403, policy.CodeNoRule},
		{"a member without the reader role", "cnil", housing + "tax.reference_income", 403, "role-missing"},
		{"malformed NIR", "cnaf", "/v1/citizens/184077505612373/view?purpose=housing-aid-eligibility&fields=tax.reference_income", 400, "nir-malformed"},
		{"unknown purpose", "cnaf", "/v1/citizens/" + nir + "/view?purpose=curiosity&fields=tax.reference_income", 400, policy.CodeUnknownPurpose},
		{"unknown field", "cnaf", housing + "tax.salary", 400, "field-unknown"}, // its detail names it (below)
		{"a bad escape in the query", "cnaf", "/v1/citizens/" + nir + "/view?purpose=housing%zzaid&fields=tax.reference_income", 400, "query-malformed"},
		{"no token", "", housing + "tax.reference_income", 401, trust.AuthMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.get(t, tc.member, tc.path)
			if code != tc.status || body["code"] != tc.code {
				t.Fatalf("%d %v, want %d %s", code, body, tc.status, tc.code)
			}
			if d, _ := body["detail"].(string); tc.code == "field-unknown" && !strings.Contains(d, "tax.salary") {
				t.Fatalf("the refusal does not name the field: %q", d)
			}
		})
	}

	// One audit event per answer but the unauthenticated one: two views
	// allowed, four refused by the policy, and five requests refused for
	// their form or their role (kind refusal).
	var events []audit.Event
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.client.Replay(ctx, f.auditTopic, bus.ReplayOptions{}, func(m bus.Message) error {
		var ev audit.Event
		json.Unmarshal(m.Value, &ev)
		events = append(events, ev)
		return nil
	})
	if len(events) != 11 {
		t.Fatalf("%d audit events, want 11 (one per authenticated request)", len(events))
	}
	refusals := 0
	for _, ev := range events {
		if ev.Kind == audit.KindRefusal {
			refusals++
			// The citizen by pseudonym when the path named a valid NIR;
			// the route, never the path with the NIR in it.
			if (ev.Citizen != cit[0] && ev.Code != "nir-malformed") || ev.Decision != "deny" || ev.Code == "" || ev.Requester == "" ||
				ev.KeyID == "" || ev.Token == "" || ev.Query["route"] != "GET /v1/citizens/{nir}/view" || strings.Contains(fmt.Sprint(ev), nir) {
				t.Fatalf("refusal event %+v", ev)
			}
			continue
		}
		if ev.Citizen != cit[0] || ev.Citizen == nir || ev.Requester == "" || ev.Decision == "" || ev.KeyID == "" || ev.Token == "" {
			t.Fatalf("audit event %+v", ev)
		}
	}
	if refusals != 5 {
		t.Fatalf("%d refusals audited, want 5", refusals)
	}
}
