package view_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

// BenchmarkIngestLink takes the records every domain's connector
// published (PASSERELLE_BENCH_CITIZENS, default 100,000 citizens) into a
// memory view, with the statistics index attached as its observer
// (link: each record's passerelle-link header opened, its columns kept)
// and without (nolink), and reports records/s of each. The records are
// read from the embedded broker before the clock starts, so the figure
// is the view's ingest path (decode, verify, store, observe) and not the
// broker's; one goroutine per domain, as Run does.
// ingestLogs publishes every domain's records of the benchmark's
// population (PASSERELLE_BENCH_CITIZENS, default 100,000 citizens) into
// the embedded broker, sealed or not, and reads them back, before any
// clock starts.
type ingestLogs struct {
	logs  map[string][]bus.Message
	total int
	store *trust.Store
	codec *schemas.Codec
	kr    *pseudo.FileKeyring
	dir   string
	tg    bustest.Target
}

func publishedLogs(b *testing.B, sealed bool) *ingestLogs {
	n := 100_000
	if v := os.Getenv("PASSERELLE_BENCH_CITIZENS"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx := context.Background()
	tg := bustest.Embedded(b)
	client := tg.Client(b)
	if err := client.EnsureTopics(ctx, domains.Topics(3)...); err != nil {
		b.Fatal(err)
	}
	var specs []trust.MemberSpec
	members := map[string]string{}
	for _, d := range domains.Names() {
		members[d] = "bench-" + d
		specs = append(specs, trust.MemberSpec{ID: members[d], Name: d, Roles: []string{trust.PublisherRole(d)}})
	}
	w := trusttest.New(b, specs)
	kr := pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo"))
	if err := kr.Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		b.Fatal(err)
	}
	p := synth.Generate(n, 3, synth.Options{DefectRate: synth.NoDefects})
	files := b.TempDir()
	cat, _ := domains.Catalog()
	codec := schemas.NewCodec(cat)
	for _, d := range domains.All() {
		if err := connect.WriteSynthetic(ctx, d, d.Synth(p), files); err != nil {
			b.Fatal(err)
		}
		cfg := connect.Config{Member: members[d.Name], Domain: d.Name, Data: w.Dir, Kafka: tg.Config(),
			BatchSize: 2000, Source: connect.SyntheticSource(d, files), Seal: sealed}
		c, err := connect.Open(ctx, cfg, connect.Deps{Bus: client, Codec: codec})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Run(ctx, true); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	p = nil
	logs := map[string][]bus.Message{}
	total := 0
	for _, d := range domains.All() {
		var mu sync.Mutex // Replay calls back from one goroutine per partition
		err := client.Replay(ctx, d.Topic(), bus.ReplayOptions{}, func(m bus.Message) error {
			mu.Lock()
			defer mu.Unlock()
			logs[d.Name] = append(logs[d.Name], m)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		total += len(logs[d.Name])
	}
	store := w.Store(b)
	return &ingestLogs{logs: logs, total: total, store: store, codec: codec, kr: kr, dir: w.Dir, tg: tg}
}

func BenchmarkIngestLink(b *testing.B) {
	il := publishedLogs(b, false)
	ctx, logs, total, store, codec, kr := context.Background(), il.logs, il.total, il.store, il.codec, il.kr
	opener, err := link.NewOpener(ctx, kr, domains.Names())
	if err != nil {
		b.Fatal(err)
	}
	rules, err := policy.Load(policy.Default, ".")
	if err != nil {
		b.Fatal(err)
	}
	// nolink: the view alone; link: with the statistics index as the
	// gateway ships it, keeping what the aggregate rules ask for; link-all:
	// keeping every breakdown and number of every domain.
	for _, kind := range []string{"nolink", "link", "link-all"} {
		b.Run(kind, func(b *testing.B) {
			var elapsed time.Duration
			for b.Loop() {
				ix := view.New(view.NewMemory(), codec, store, prometheus.NewRegistry(), nil)
				var sx *stats.Index
				if kind != "nolink" {
					sx = stats.NewIndex(opener, store, prometheus.NewRegistry(), nil)
					if kind == "link" {
						sx.Keep(rules.Aggregates())
					}
					ix.Observe(sx)
				}
				start := time.Now()
				var wg sync.WaitGroup
				errs := make(chan error, len(logs))
				for d, msgs := range logs {
					wg.Go(func() {
						for _, m := range msgs {
							if err := ix.Ingest(d, m); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
				close(errs)
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
				indexed := 0.0
				for _, d := range domains.Names() {
					indexed += testutil.ToFloat64(ix.Indexed(d))
				}
				if int(indexed) != total {
					b.Fatalf("%v of %d records indexed", indexed, total)
				}
				if sx != nil {
					// Every record a connector sealed must have been
					// linked, or the run measured the error path.
					for _, d := range domains.Names() {
						for _, why := range []string{"missing", "malformed", "forged"} {
							if c := testutil.ToFloat64(sx.Unlinked(d, why)); c > 0 {
								b.Fatalf("%s: %v records unlinked (%s)", d, c, why)
							}
						}
					}
				}
			}
			b.ReportMetric(float64(total)*float64(b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(total), "records")
		})
	}
}
