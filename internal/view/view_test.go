package view_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/schemas"
)

// taxLog is a tax office's source, a synthetic population in SQLite, and
// the embedded broker its connector publishes to.
type taxLog struct {
	tg      bustest.Target
	client  *bus.Client
	codec   *schemas.Codec
	world   *trusttest.World
	keyring *pseudo.FileKeyring
	pop     *synth.Population
	db      *sql.DB
	dsn     string
}

func newTaxLog(t *testing.T, citizens int, seed int64) *taxLog {
	t.Helper()
	ctx := context.Background()
	tl := &taxLog{tg: bustest.Embedded(t)}
	tl.client = tl.tg.Client(t)
	if err := tl.client.EnsureTopics(ctx, domains.Topics(3)...); err != nil {
		t.Fatal(err)
	}
	tl.pop = synth.Generate(citizens, seed, synth.Options{DefectRate: synth.NoDefects})
	tl.dsn = filepath.Join(t.TempDir(), "tax.sqlite")
	tl.db, _ = sql.Open("sqlite", tl.dsn)
	t.Cleanup(func() { tl.db.Close() })
	if err := synth.WriteTax(ctx, tl.db, synth.SQLite, tl.pop); err != nil {
		t.Fatal(err)
	}
	tl.world = trusttest.New(t, []trust.MemberSpec{{ID: "dgfip", Name: "DGFiP", Roles: []string{"publisher:tax"}}})
	tl.keyring = pseudo.NewFileKeyring(filepath.Join(tl.world.Dir, "pseudo"))
	tl.keyring.Ensure(pseudo.KeyNames(domains.Names())...)
	cat, _ := domains.Catalog()
	tl.codec = schemas.NewCodec(cat)
	return tl
}

// publish runs the tax connector over what the source holds.
func (tl *taxLog) publish(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c, err := connect.Open(ctx, connect.Config{Member: "dgfip", Domain: "tax", Data: tl.world.Dir, Kafka: tl.tg.Config(),
		Source: connect.SourceConfig{Driver: "sqlite", DSN: tl.dsn}}, connect.Deps{Bus: tl.client, Codec: tl.codec})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Run(ctx, true); err != nil {
		t.Fatal(err)
	}
}

// The view's series are registered where it is told, and a domain whose
// topic cannot be read stops Run with an error that names the domain.
func TestIndexMetricsAndFailure(t *testing.T) {
	tl := newTaxLog(t, 10, 3)
	reg := prometheus.NewRegistry()
	ix := view.New(view.NewMemory(), tl.codec, tl.world.Store(t), reg, nil)
	ix.Rejected("tax", "stale")
	ix.Indexed("tax")
	names := map[string]bool{}
	families, _ := reg.Gather()
	for _, f := range families {
		names[f.GetName()] = true
	}
	if !names["passerelle_view_records_indexed_total"] || !names["passerelle_view_records_rejected_total"] {
		t.Fatalf("registered: %v", names)
	}
	// A broker without the domain topics.
	empty := bustest.Embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := view.New(view.NewMemory(), tl.codec, tl.world.Store(t), nil, nil).Run(ctx, empty.Client(t))
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "view of") {
		t.Fatalf("Run on missing topics: %v (ctx %v)", err, ctx.Err())
	}
}

// build reads the log into an index over store, up to where it stood.
func (tl *taxLog) build(t *testing.T, store view.Store) *view.Index {
	t.Helper()
	ix := view.New(store, tl.codec, tl.world.Store(t), prometheus.NewRegistry(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx, tl.client) }()
	select {
	case <-ix.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("view never caught up")
	}
	cancel()
	<-done
	return ix
}

// The view of a small population published by the real connector code:
// every citizen's tax record is found under their tax pseudonym; a record
// tampered on the topic is refused and counted; the disk index rebuilt from
// nothing holds the same.
func TestViewFromTheLog(t *testing.T) {
	ctx := context.Background()
	tl := newTaxLog(t, 300, 9)
	tl.publish(t)
	client, codec, kr, p := tl.client, tl.codec, tl.keyring, tl.pop

	// A tampered copy of a genuine record, published straight onto the topic.
	var genuine bus.Message
	var mu sync.Mutex // the callback runs once per partition, concurrently
	client.Replay(ctx, "passerelle.tax.household.v1", bus.ReplayOptions{}, func(m bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if genuine.Value == nil {
			genuine = m
		}
		return nil
	})
	// Another household id, still valid Avro: only the signature can tell.
	var h tax.Household
	if _, err := codec.Decode(genuine.Value, "passerelle.tax.household.v1-value", nil, &h); err != nil {
		t.Fatal(err)
	}
	forged := genuine
	forged.Value = append([]byte(nil), genuine.Value...)
	i := bytes.Index(forged.Value, []byte(h.HouseholdID))
	forged.Value[i] = '0' + (forged.Value[i]-'0'+1)%10
	forged.Partition, forged.Offset = genuine.Partition, 0
	wr := client.NewWriter(nil, bus.WithBalancer(bus.ByPartition{}))
	if err := wr.Write(ctx, forged); err != nil {
		t.Fatal(err)
	}
	wr.Close()

	ps := pseudo.New(kr)
	for name, open := range map[string]func() view.Store{
		"memory": func() view.Store { return view.NewMemory() },
		"disk": func() view.Store {
			s, err := view.OpenDisk(filepath.Join(t.TempDir(), "view.db"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			store := open()
			defer store.Close()
			ix := tl.build(t, store)

			nirs := make([]string, len(p.Citizens))
			for i, c := range p.Citizens {
				nirs[i] = c.NIR
			}
			subjects, _ := ps.Domain(ctx, "tax", nirs)
			found := 0
			for i, s := range subjects {
				r, ok, err := ix.Lookup(context.Background(), "tax", s)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					continue // minors not in a household are still rows; adults without one are not
				}
				found++
				h := r.Value.(*tax.Household)
				if r.Meta.Subject != s || r.Meta.Source != "dgfip" || r.KeyID == "" || h.TaxYear != 2025 {
					t.Fatalf("citizen %d: %+v", i, r)
				}
			}
			if want := len(p.Manifest[synth.DomainTax].Valid); found != want {
				t.Fatalf("%d citizens found in the view, want %d", found, want)
			}
			if n := testutil.ToFloat64(ix.Rejected("tax", "bad-signature")); n != 1 {
				t.Fatalf("%v tampered records counted, want 1", n)
			}
			if n := int(testutil.ToFloat64(ix.Indexed("tax"))); n != found {
				t.Fatalf("%d records counted as indexed, %d found", n, found)
			}
		})
	}
}

// The view only moves forward: a citizen's earlier record, validly signed
// and written onto the topic again after a newer one, is refused as stale
// and counted, in memory and on disk; a disk index that reads the log
// again after a restart counts nothing for the records it had taken in.
func TestViewNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	tl := newTaxLog(t, 40, 5)
	tl.publish(t)
	client, codec, kr, db := tl.client, tl.codec, tl.keyring, tl.db
	publish := func() { tl.publish(t) }
	// The tax office corrects row 1's income a day later: a new row, as
	// its system appends them.
	var nir, updated string
	if err := db.QueryRow(`SELECT nir, updated_at FROM household_assessment WHERE id = 1`).Scan(&nir, &updated); err != nil {
		t.Fatal(err)
	}
	subjects, _ := pseudo.New(kr).Domain(ctx, "tax", []string{nir})
	var old bus.Message
	var mu sync.Mutex
	client.Replay(ctx, "passerelle.tax.household.v1", bus.ReplayOptions{}, func(m bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if string(m.Key) == subjects[0] {
			old = m
		}
		return nil
	})
	var was tax.Household
	if _, err := codec.Decode(old.Value, "passerelle.tax.household.v1-value", nil, &was); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(`INSERT INTO household_assessment (id, nir, tax_year, household_id, role, shares, reference_income_cents,
		taxable_income_cents, tax_due_cents, dependants, commune_code, withholding_rate_bp, updated_at)
		SELECT (SELECT max(id) + 1 FROM household_assessment), nir, tax_year, household_id, role, shares, reference_income_cents + 12345,
		taxable_income_cents, tax_due_cents, dependants, commune_code, withholding_rate_bp, ? FROM household_assessment WHERE id = 1`,
		was.Meta.EventTime.Add(24*time.Hour).Format(time.RFC3339Nano))
	if err != nil {
		t.Fatal(err)
	}
	publish()
	// Then someone writes the first version back, as it was signed.
	wr := client.NewWriter(nil, bus.WithBalancer(bus.ByPartition{}))
	replay := bus.Message{Topic: old.Topic, Partition: old.Partition, Key: old.Key, Value: old.Value, Headers: old.Headers}
	if err := wr.Write(ctx, replay); err != nil {
		t.Fatal(err)
	}
	wr.Close()

	disk, err := view.OpenDisk(filepath.Join(t.TempDir(), "view.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	build := tl.build
	for name, store := range map[string]view.Store{"memory": view.NewMemory(), "disk": disk} {
		t.Run(name, func(t *testing.T) {
			ix := build(t, store)
			r, ok, err := ix.Lookup(context.Background(), "tax", string(old.Key))
			if err != nil || !ok {
				t.Fatalf("lookup: %v %v", ok, err)
			}
			if got := r.Value.(*tax.Household).ReferenceIncomeCents; got != was.ReferenceIncomeCents+12345 {
				t.Fatalf("income %d: the view went back to %d or elsewhere, want the correction %d", got, was.ReferenceIncomeCents, was.ReferenceIncomeCents+12345)
			}
			if n := testutil.ToFloat64(ix.Rejected("tax", "stale")); n != 1 {
				t.Fatalf("%v stale records counted, want 1", n)
			}
		})
	}
	// The disk index after a restart reads the log again from its start:
	// what it had taken in counts nothing; the replay, after what it
	// holds, is refused again (and counted by this process).
	ix := build(t, disk)
	if s, d := testutil.ToFloat64(ix.Rejected("tax", "stale")), testutil.ToFloat64(ix.Rejected("tax", "duplicate")); s != 1 || d != 0 {
		t.Fatalf("reading the log again counted %v stale and %v duplicate records, want 1 and 0", s, d)
	}
	if r, ok, _ := ix.Lookup(context.Background(), "tax", string(old.Key)); !ok || r.Value.(*tax.Household).ReferenceIncomeCents != was.ReferenceIncomeCents+12345 {
		t.Fatalf("after the restart: %v %+v", ok, r)
	}

	// The tax office loses its publisher role, then is revoked: its records
	// are withdrawn from the next lookup on.
	for _, spec := range []trust.MemberSpec{
		{ID: "dgfip", Name: "DGFiP", Roles: []string{"reader"}},
		{ID: "dgfip", Name: "DGFiP", Roles: []string{"publisher:tax"}, Status: trust.StatusRevoked},
	} {
		store := tl.world.Store(t)
		ix := view.New(view.NewMemory(), codec, store, prometheus.NewRegistry(), nil)
		for _, m := range []bus.Message{old} {
			if err := ix.Ingest("tax", m); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, err := ix.Lookup(context.Background(), "tax", string(old.Key)); !ok || err != nil {
			t.Fatalf("before: %v %v", ok, err)
		}
		tl.world.Publish(t, []trust.MemberSpec{spec})
		if _, err := store.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := ix.Lookup(context.Background(), "tax", string(old.Key)); ok || !errors.Is(err, view.ErrWithdrawn) {
			t.Fatalf("after %+v: %v %v", spec, ok, err)
		}
		tl.world.Publish(t, []trust.MemberSpec{{ID: "dgfip", Name: "DGFiP", Roles: []string{"publisher:tax"}}})
	}
}

// One domain's follower failing (its topic missing) fails the whole view:
// Run stops the other domains' followers and returns, naming the domain,
// instead of following the others for as long as the gateway runs.
func TestViewFailsWithItsFirstDomain(t *testing.T) {
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	health, _ := domains.ByName("health")
	missing := health.Topic()
	var specs []bus.TopicSpec
	for _, s := range domains.Topics(1) {
		if s.Name != missing {
			specs = append(specs, s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := client.EnsureTopics(ctx, specs...); err != nil {
		t.Fatal(err)
	}
	cat, _ := domains.Catalog()
	world := trusttest.New(t, []trust.MemberSpec{{ID: "cnam", Name: "CNAM", Roles: []string{"publisher:health"}}})
	err := view.New(view.NewMemory(), schemas.NewCodec(cat), world.Store(t), nil, nil).Run(ctx, client)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "view of health") {
		t.Fatalf("Run with %s missing: %v (ctx %v)", missing, err, ctx.Err())
	}
}
