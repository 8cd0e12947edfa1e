package stats_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/civilstatus"
	"github.com/passerelle-bus/passerelle/internal/domains/finance"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

// benchCitizens is the population of the aggregate benchmarks:
// PASSERELLE_BENCH_CITIZENS, default 1,000,000 (the size the cold-query
// target is set for).
func benchCitizens() int {
	if v, err := strconv.Atoi(os.Getenv("PASSERELLE_BENCH_CITIZENS")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

// linkKeys is a keyring and the link sealers and opener over it: sealing
// is the connectors' work, not the index's, so the benchmarks seal ahead.
type linkKeys struct {
	opener  *link.Opener
	sealers map[string]*link.Sealer
}

func newLinkKeys(tb testing.TB) *linkKeys {
	tb.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "passerelle-stats-bench")
	if err != nil {
		tb.Fatal(err)
	}
	// The keys are derived once, below; the files are not read again.
	defer os.RemoveAll(dir)
	kr := pseudo.NewFileKeyring(dir)
	if err := kr.Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		tb.Fatal(err)
	}
	lk := &linkKeys{sealers: map[string]*link.Sealer{}}
	if lk.opener, err = link.NewOpener(ctx, kr, domains.Names()); err != nil {
		tb.Fatal(err)
	}
	for _, d := range []string{"civilstatus", "tax", "finance"} {
		if lk.sealers[d], err = link.NewSealer(ctx, kr, d); err != nil {
			tb.Fatal(err)
		}
	}
	return lk
}

// observedRecord is one record as the view hands it to the index.
type observedRecord struct {
	domain string
	o      view.Observed
}

// records builds the population's records as the view observes them,
// each with its link header sealed (or none when sealed is false), in
// the order a replay of the three topics could deliver them.
func (lk *linkKeys) records(tb testing.TB, pop []citizen, sealed bool) []observedRecord {
	tb.Helper()
	out := make([]observedRecord, 0, len(pop)*3)
	for i, c := range pop {
		var id link.ID
		binary.BigEndian.PutUint64(id[8:], uint64(i))
		add := func(d string, value any, meta *schemas.Meta) {
			meta.Subject, meta.RecordID = fmt.Sprintf("%s-%d", d, i), fmt.Sprintf("rec-%s-%d", d, i)
			var headers []bus.Header
			if sealed {
				h, err := lk.sealers[d].Seal(id, meta.Subject, meta.RecordID)
				if err != nil {
					tb.Fatal(err)
				}
				headers = []bus.Header{{Key: link.Header, Value: h}}
			}
			out = append(out, observedRecord{d, view.Observed{Meta: meta, Value: value, KeyID: "k", Headers: headers}})
		}
		p := &civilstatus.Person{Sex: c.sex, BirthDate: c.born, Address: &civilstatus.Address{CommuneCode: c.commune}}
		add("civilstatus", p, &p.Meta)
		if c.inTax {
			h := &tax.Household{CommuneCode: c.commune, ReferenceIncomeCents: c.income, TaxDueCents: c.taxDue, Role: "DECLARANT"}
			add("tax", h, &h.Meta)
		}
		if c.inFinance {
			f := &finance.Payment{Benefit: c.benefit, AmountCents: c.amount, Status: "PAID"}
			add("finance", f, &f.Meta)
		}
	}
	return out
}

// big is the benchmarks' index of benchCitizens citizens, built once per
// process (and kept across -count runs): building it takes longer than
// any query on it.
var big struct {
	once sync.Once
	f    *fixture
}

func bigFixture(b *testing.B) *fixture {
	big.once.Do(func() {
		pop := population(benchCitizens(), 42)
		lk := newLinkKeys(b)
		ix := stats.NewIndex(lk.opener, nil, nil, nil)
		for _, r := range lk.records(b, pop, true) {
			ix.Observe(r.domain, r.o)
		}
		rs, err := policy.Load(policy.Default, ".")
		if err != nil {
			b.Fatal(err)
		}
		big.f = &fixture{ix: ix, rules: rs, pop: pop}
	})
	if big.f == nil {
		b.Fatal("the benchmark index could not be built (see the first failure)")
	}
	return big.f
}

// The aggregate benchmark's query: a three-dimension table with three
// measures over the three domains the housing rule joins.
var (
	housingQuery = stats.Query{Purpose: "housing-policy-evaluation",
		GroupBy: []string{"civilstatus.sex", "civilstatus.age_band", "finance.benefit"},
		Measures: []stats.MeasureQuery{{Op: "count"}, {Op: "sum", Field: "tax.reference_income"},
			{Op: "mean", Field: "finance.amount"}}}
	housingQuantileQuery = stats.Query{Purpose: housingQuery.Purpose, GroupBy: housingQuery.GroupBy,
		Measures: append(append([]stats.MeasureQuery(nil), housingQuery.Measures...),
			stats.MeasureQuery{Op: "quantile", Field: "finance.amount", Q: 0.5})}
)

// BenchmarkAggregate1M times an aggregate query over a million citizens
// (PASSERELLE_BENCH_CITIZENS) with records in civil status, tax and
// finance. cold is a new snapshot: Freeze, the rule's table (join,
// aggregation, protection) and the query cut from it; warm is the query
// alone on a table already built. The -quantile runs add a median, which
// reads the population's rows rather than the table's cells. Building the
// index is not timed.
func BenchmarkAggregate1M(b *testing.B) {
	f := bigFixture(b)
	for _, q := range []struct {
		name string
		q    stats.Query
	}{{"", housingQuery}, {"-quantile", housingQuantileQuery}} {
		r := f.rule(b, q.q.Purpose)
		b.Run("cold"+q.name, func(b *testing.B) {
			var a stats.Answer
			var tab *stats.Table
			for b.Loop() {
				var err error
				if tab, err = f.ix.Freeze(day).Table(r); err != nil {
					b.Fatal(err)
				}
				p, err := stats.Compile(r, q.q)
				if err != nil {
					b.Fatal(err)
				}
				a = stats.Exact(p, tab, day)
			}
			reportQuery(b, tab, a)
		})
		// Built once here, not in the sub-benchmark, which the testing
		// package calls several times while it sizes b.N.
		tab, err := f.ix.Freeze(day).Table(r)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("warm"+q.name, func(b *testing.B) {
			var a stats.Answer
			for b.Loop() {
				p, err := stats.Compile(r, q.q)
				if err != nil {
					b.Fatal(err)
				}
				a = stats.Exact(p, tab, day)
			}
			reportQuery(b, tab, a)
		})
	}
}

// reportQuery reports ms/op (the target is stated in it) and what the
// answer was made of, so that a faster run is seen to do the same work.
func reportQuery(b *testing.B, tab *stats.Table, a stats.Answer) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/op")
	b.ReportMetric(float64(tab.Population), "joined")
	b.ReportMetric(float64(len(a.Cells)), "cells")
	released := 0
	for _, c := range a.Cells {
		if c.Suppressed == "" {
			released++
		}
	}
	b.ReportMetric(float64(released), "released")
}

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkIndexHeap1M builds the statistics index of a million citizens
// (PASSERELLE_BENCH_CITIZENS) in three domains and reports the live heap
// it holds: linked, every record with its link header; unlinked, none, so
// that no citizen enters the join's map. The difference is the join map;
// the link ids and flags (17 bytes a row) are held either way. Run with
// -benchtime 1x: each iteration builds a whole index.
func BenchmarkIndexHeap1M(b *testing.B) {
	pop := population(benchCitizens(), 42)
	lk := newLinkKeys(b)
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		b.Fatal(err)
	}
	// linked-kept is the index as the gateway ships it: only what the
	// default aggregate rules ask for (Index.Keep).
	for _, kind := range []string{"linked", "unlinked", "linked-kept"} {
		b.Run(kind, func(b *testing.B) {
			recs := lk.records(b, pop, kind != "unlinked")
			var grown uint64
			for b.Loop() {
				before := heapAlloc()
				ix := stats.NewIndex(lk.opener, nil, nil, nil)
				if kind == "linked-kept" {
					ix.Keep(rs.Aggregates())
				}
				for _, r := range recs {
					ix.Observe(r.domain, r.o)
				}
				after := heapAlloc()
				runtime.KeepAlive(ix)
				grown = after - before
			}
			runtime.KeepAlive(recs)
			b.ReportMetric(float64(grown)/(1<<20), "index-MB")
			b.ReportMetric(float64(grown)/float64(len(pop)), "B/citizen")
			b.ReportMetric(float64(grown)/float64(len(recs)), "B/record")
		})
	}
}

// BenchmarkLinkOpen is the per-record cost of the linkage at ingest:
// opening one passerelle-link header (base64, AES-GCM, the record's
// binding checked). internal/link has no benchmark of its own.
func BenchmarkLinkOpen(b *testing.B) {
	lk := newLinkKeys(b)
	recs := lk.records(b, population(1024, 42), true)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		r := recs[i%len(recs)]
		if _, err := lk.opener.Open(r.domain, r.o.Meta.Subject, r.o.Meta.RecordID, r.o.Headers[0].Value); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "opens/s")
}
