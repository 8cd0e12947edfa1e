package connect_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/schemas"
)

// pgURL returns the test PostgreSQL, or skips (fails in CI).
func pgURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("PASSERELLE_PG_URL")
	if u == "" {
		msg := "PostgreSQL not configured: run deploy/local/postgres.sh up and set PASSERELLE_PG_URL (or make test)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

func citizens(t *testing.T, def int) int {
	if v := os.Getenv("PASSERELLE_E2E_CITIZENS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if testing.Short() || raceEnabled {
		t.Logf("%d citizens instead of %d (short or race mode; make test also runs the full size without -race)", def/20, def)
		return def / 20
	}
	return def
}

// The acceptance run: a synthetic population written into a real
// PostgreSQL and file drops, every domain's connector against the real
// Kafka broker; every valid row arrives exactly once as a verified record,
// every defective row is a dead letter, and no NIR is anywhere on the bus.
func TestEveryConnectorEndToEnd(t *testing.T) {
	pg := pgURL(t)
	tg := bustest.Real(t)
	n := citizens(t, 100_000)
	ctx := context.Background()
	start := time.Now()
	p := synth.Generate(n, 42, synth.Options{DefectRate: 0.01})

	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files := t.TempDir()
	sources := map[string]synth.Source{}
	for _, d := range domains.All() {
		src := d.Synth(p)
		sources[d.Name] = src
		if src.Table == nil {
			if err := src.WriteFiles(files); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// The connectors read fixed table names; this test owns them.
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+src.Table.Name); err != nil {
			t.Fatal(err)
		}
		if err := synth.WriteTable(ctx, db, synth.Postgres, *src.Table); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d citizens written to PostgreSQL and file drops in %s", n, time.Since(start).Round(time.Millisecond))

	members, specs := specsFor(fmt.Sprintf("e2e%d", time.Now().UnixNano()))
	w := trusttest.New(t, specs)
	if err := pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo")).Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		t.Fatal(err)
	}
	client := tg.Client(t)
	if err := client.EnsureTopics(ctx, domains.Topics(6)...); err != nil {
		t.Fatal(err)
	}
	cat, _ := domains.Catalog()
	codec := schemas.NewCodec(cat)
	// On the locked-down broker each connector runs as its own principal,
	// with the rights of the ACL file and no more: the file must suffice.
	if tg.Security != nil {
		tg.ApplyACLs(t)
	}

	start = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(domains.All()))
	for _, dom := range domains.All() {
		d := dom.Name
		cfg := connect.Config{Member: members[d], Domain: d, Data: w.Dir, Kafka: tg.ConfigAs(t, "connector-"+d), BatchSize: 2000}
		own, err := bus.New(cfg.Kafka, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer own.Close()
		deps := connect.Deps{Bus: own, Codec: codec}
		if dom.Source.SQL() {
			cfg.Source = connect.SQLSource("pgx", pg)
		} else {
			cfg.Source = connect.SourceConfig{Dir: filepath.Join(files, d)}
		}
		c, err := connect.Open(ctx, cfg, deps)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			errs <- c.Run(ctx, true)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d connectors ran in %s", len(domains.All()), time.Since(start).Round(time.Millisecond))

	store := w.Store(t)
	start = time.Now()
	for _, d := range domains.Names() {
		checkDomain(t, consume(t, client, store, codec, d, members[d]), sources[d].Manifest, d)
	}
	t.Logf("consumed and verified in %s", time.Since(start).Round(time.Millisecond))
	checkLinks(t, client, pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo")), codec, p, members)
	start = time.Now()
	noNIR(t, client, p)
	t.Logf("scanned for NIRs in %s", time.Since(start).Round(time.Millisecond))
}
