package view_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/datakeys"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// BenchmarkIngestSealed measures what sealing costs the view (issue 19):
// the same population's records, published in clear and sealed, taken in
// by the view alone (a sealed record is held as published, its meta
// alone decoded) and with the statistics index as shipped (which opens
// each sealed record it keeps columns of, at ingest); then a lookup,
// which opens a sealed record at read time.
func BenchmarkIngestSealed(b *testing.B) {
	clear, sealed := publishedLogs(b, false), publishedLogs(b, true)
	rules, err := policy.Load(policy.Default, ".")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		logs  *ingestLogs
		stats bool
	}{
		{"clear", clear, false}, {"sealed", sealed, false}, {"clear+stats", clear, true}, {"sealed+stats", sealed, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var elapsed time.Duration
			var ix *view.Index
			for b.Loop() {
				ix = newIngestIndex(b, tc.logs, tc.logs == sealed, tc.stats, rules)
				start := time.Now()
				ingestAll(b, ix, tc.logs)
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(tc.logs.total)*float64(b.N)/elapsed.Seconds(), "records/s")
			if tc.stats {
				return
			}
			// Read time: one lookup of each citizen of tax, opened if sealed.
			subjects := make([]string, 0, len(tc.logs.logs["tax"]))
			for _, m := range tc.logs.logs["tax"] {
				subjects = append(subjects, string(m.Key))
			}
			ctx := context.Background()
			start := time.Now()
			for _, s := range subjects {
				if _, ok, err := ix.Lookup(ctx, "tax", s); !ok || err != nil {
					b.Fatalf("lookup %s: %v %v", s, ok, err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(len(subjects)), "ns/lookup")
		})
	}
}

// newIngestIndex is a view over the logs' registry, opening sealed
// records with ledgers that have read the key topics, and with the
// statistics index as the gateway ships it when stats is set.
func newIngestIndex(b *testing.B, il *ingestLogs, sealed, withStats bool, rules *policy.RuleSet) *view.Index {
	ix := view.New(view.NewMemory(), il.codec, il.store, prometheus.NewRegistry(), nil)
	if sealed {
		ledgers := map[string]*datakeys.Ledger{}
		k := kek.NewFiles(datadir.Dir(il.dir).KEK())
		client := il.tg.Client(b)
		for _, d := range domains.Names() {
			l := datakeys.New(d, k, il.store, datakeys.Options{})
			ledgers[d] = l
			follow(b, l, client)
		}
		opener, err := datakeys.NewOpener(il.codec.Catalog(), ledgers)
		if err != nil {
			b.Fatal(err)
		}
		ix.Open(opener)
	}
	if withStats {
		opener, err := link.NewOpener(context.Background(), il.kr, domains.Names())
		if err != nil {
			b.Fatal(err)
		}
		sx := stats.NewIndex(opener, il.store, prometheus.NewRegistry(), nil)
		sx.Keep(rules.Aggregates())
		ix.Observe(sx)
	}
	return ix
}

// ingestAll takes every record in, one goroutine per domain as Run does.
func ingestAll(b *testing.B, ix *view.Index, il *ingestLogs) {
	var wg sync.WaitGroup
	for d, msgs := range il.logs {
		wg.Go(func() {
			for _, m := range msgs {
				if err := ix.Ingest(d, m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	indexed := 0.0
	for _, d := range domains.Names() {
		indexed += testutil.ToFloat64(ix.Indexed(d))
	}
	if int(indexed) != il.total {
		b.Fatalf("%v of %d records indexed", indexed, il.total)
	}
}
