package view_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

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

// BenchmarkIndexBuild rebuilds the view of a population published by every
// domain's connector into the real broker (PASSERELLE_BENCH_CITIZENS, default
// 100,000), into memory and into a bbolt file, and reports records/s and
// the index's size. Run with -benchtime 1x.
func BenchmarkIndexBuild(b *testing.B) {
	tg := bustest.Real(b)
	n := 100_000
	if v := os.Getenv("PASSERELLE_BENCH_CITIZENS"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx := context.Background()
	client := tg.Client(b)
	client.EnsureTopics(ctx, domains.Topics(6)...)
	// Records an earlier run left would be read again, refused as of
	// unknown members, and slow every later run down: each run measured
	// worse than the one before, which once passed for a difference
	// between what they compared.
	for _, d := range domains.All() {
		parts, _ := client.Partitions(ctx, d.Topic())
		for p := range parts {
			if hw, err := client.HighWatermark(ctx, d.Topic(), p); err != nil || hw > 0 {
				b.Fatalf("%s/%d holds records already (%d, %v): run with a fresh broker (deploy/local/with-services.sh restarts it) and -count 1", d.Topic(), p, hw, err)
			}
		}
	}
	run := fmt.Sprintf("ix%d", time.Now().UnixNano())
	var specs []trust.MemberSpec
	members := map[string]string{}
	for _, d := range domains.Names() {
		members[d] = run + "-" + d
		specs = append(specs, trust.MemberSpec{ID: members[d], Name: d, Roles: []string{trust.PublisherRole(d)}})
	}
	w := trusttest.New(b, specs)
	kr := pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo"))
	kr.Ensure(pseudo.KeyNames(domains.Names())...)
	p := synth.Generate(n, 3, synth.Options{DefectRate: synth.NoDefects})
	files := b.TempDir()
	cat, _ := domains.Catalog()
	codec := schemas.NewCodec(cat)
	for _, d := range domains.All() {
		if err := connect.WriteSynthetic(ctx, d, d.Synth(p), files); err != nil {
			b.Fatal(err)
		}
		cfg := connect.Config{Member: members[d.Name], Domain: d.Name, Data: w.Dir, Kafka: tg.Config(),
			BatchSize: 2000, Source: connect.SyntheticSource(d, files)}
		c, err := connect.Open(ctx, cfg, connect.Deps{Bus: client, Codec: codec})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Run(ctx, true); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	store := w.Store(b)
	// Drop the population before measuring: the process's peak RSS is then
	// the index's and the replay's, not the generator's.
	p = nil
	runtime.GC()
	debug.FreeOSMemory()
	opener, err := link.NewOpener(ctx, kr, domains.Names())
	if err != nil {
		b.Fatal(err)
	}
	rules, err := policy.Load(policy.Default, ".")
	if err != nil {
		b.Fatal(err)
	}
	// memory+stats is the gateway's build: the view in memory and the
	// statistics index hearing it, keeping what the aggregate rules ask.
	for _, kind := range []string{"memory", "memory+stats", "disk"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				var s view.Store = view.NewMemory()
				path := filepath.Join(b.TempDir(), "view.db")
				if kind == "disk" {
					var err error
					if s, err = view.OpenDisk(path); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				resetPeakRSS()
				reg := prometheus.NewRegistry()
				ix := view.New(s, codec, store, reg, nil)
				var sx *stats.Index
				if kind == "memory+stats" {
					sx = stats.NewIndex(opener, store, reg, nil)
					sx.Keep(rules.Aggregates())
					ix.Observe(sx)
				}
				rctx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				cpu0 := cpuTime()
				start := time.Now()
				go func() { done <- ix.Run(rctx, client) }()
				<-ix.Ready()
				elapsed := time.Since(start)
				cpu := cpuTime() - cpu0
				cancel()
				<-done
				runtime.GC()
				runtime.ReadMemStats(&after)
				indexed := 0.0
				for _, d := range domains.Names() {
					indexed += testutil.ToFloat64(ix.Indexed(d))
				}
				b.ReportMetric(indexed/elapsed.Seconds(), "records/s")
				b.ReportMetric(indexed, "records")
				// Cores this process kept busy: under 2 on this machine,
				// the build waits on the broker, not on its own work.
				b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
				b.ReportMetric(float64(peakRSSKB())/1024, "peak-RSS-MB")
				if kind == "disk" {
					st, _ := os.Stat(path)
					b.ReportMetric(float64(st.Size())/(1<<20), "file-MB")
				} else {
					b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "heap-MB")
				}
				runtime.KeepAlive(sx)
				s.Close()
			}
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS sets the process's VmHWM back to its current RSS (Linux:
// writing 5 to clear_refs), so the next reading is this phase's peak.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSKB reads VmHWM.
func peakRSSKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
