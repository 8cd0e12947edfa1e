package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// BenchmarkViewQuery asks the gateway for citizens' views over HTTP, as
// the benefits payer checking housing aid (three fields over two domains),
// 16 requests at a time (PASSERELLE_BENCH_CONCURRENCY): each request's token is verified, the policy
// decides, the view is read and the audit event is acknowledged by the real
// broker before the answer. 100,000 citizens published by the connectors.
// Tokens are minted beforehand: signing them is the caller's cost.
//
// "unaudited" is the same query with the audit write replaced by nothing,
// the baseline that shows what the durable trace costs; no gateway runs
// that way.
func BenchmarkViewQuery(b *testing.B) {
	f := newFixtureOf(b, bustest.Real(b), 100_000, "civilstatus", "tax", "health")
	audited := f.guard.Audit
	// Rounds alternate the two (PASSERELLE_BENCH_ROUNDS, default 1), so
	// that neither always runs on the fresher process.
	rounds := 1
	if v, err := strconv.Atoi(os.Getenv("PASSERELLE_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	// Every run asks about the next citizens: the purpose allows four
	// accesses per citizen a month, counted from the audit log across runs.
	next := 0
	// PASSERELLE_BENCH_WARMUP=1 runs one round of each first, named
	// warmup-*, for the figures of a process past its first bbolt file
	// growth, its first checkpoints and its first collections.
	first := 0
	if os.Getenv("PASSERELLE_BENCH_WARMUP") == "1" {
		first = -1
	}
	// PASSERELLE_BENCH_TWIN=1 adds two gateway instances sharing the log,
	// the requests alternating between them: each then settles its claims
	// by reading the other's writes (docs/limits.md).
	type variant struct {
		name    string
		auditor gateway.Auditor
		servers []*httptest.Server
	}
	variants := []variant{{"audited", audited, []*httptest.Server{f.srv}}, {"unaudited", unaudited{}, []*httptest.Server{f.srv}}}
	if os.Getenv("PASSERELLE_BENCH_TWIN") == "1" {
		variants = append(variants, variant{"audited-two-gateways", audited, []*httptest.Server{f.srv, f.twin(b)}})
	}
	for round := first; round < rounds; round++ {
		for _, tc := range variants {
			name := tc.name
			if round < 0 {
				name = "warmup-" + name
			}
			b.Run(name, func(b *testing.B) {
				f.guard.Audit, f.cz.Service.Audit, f.cz.Service.Limits = tc.auditor, tc.auditor, citizenview.NewLimits(f.trail)
				defer func() { f.guard.Audit, f.cz.Service.Audit = audited, audited }()
				viewQueries(b, f, tc.servers, next)
				next += b.N
			})
		}
	}
}

type unaudited struct{}

func (unaudited) Append(context.Context, audit.Event) (audit.Receipt, error) {
	return audit.Receipt{}, nil
}
func (unaudited) Void(audit.Event, string) {}

func viewQueries(b *testing.B, f *fixture, servers []*httptest.Server, first int) {
	key, _ := f.world.Keys.Current("cnaf")
	concurrency := 16
	if v, err := strconv.Atoi(os.Getenv("PASSERELLE_BENCH_CONCURRENCY")); err == nil {
		concurrency = v
	}
	tokens := make([]string, b.N)
	for i := range tokens {
		tok, err := trust.MintToken(key, "cnaf", gatewayID, 5*time.Minute, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = string(tok)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	lat := make([]time.Duration, b.N)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	if dir := os.Getenv("PASSERELLE_BENCH_PROFILE"); dir != "" {
		stop := profile(b, filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "-")))
		defer stop()
	}
	cpu0, broker0 := processCPU(), brokerCPU(b)
	commits0, events0 := groupCommits(b, f)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				nir := f.adults[(first+i)%len(f.adults)]
				srv := servers[i%len(servers)]
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/citizens/%s/view?purpose=housing-aid-eligibility&fields=tax.reference_income,tax.shares,civilstatus.birth_date", srv.URL, nir), nil)
				req.Header.Set("Authorization", "Bearer "+tokens[i])
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu, broker := processCPU()-cpu0, brokerCPU(b)-broker0
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
	// The CPU of this process (gateway and clients, not the broker) per
	// query: what the audit costs the gateway itself, whatever the broker
	// sharing the machine takes.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/query")
	if commits, events := groupCommits(b, f); commits > commits0 {
		b.ReportMetric((events-events0)/float64(commits-commits0), "events/commit")
	}
	if broker0 >= 0 {
		b.ReportMetric(float64(broker.Microseconds())/float64(b.N), "broker-cpu-µs/query")
	}
}

// profile writes the round's CPU profile to prefix.pprof, and the heap's
// allocations and lock waits before and after it to
// prefix.{allocs,mutex}-{0,1}.pprof: their difference (pprof -base) is
// what the round allocated and waited for, without the fixture's setup.
func profile(b *testing.B, prefix string) (stop func()) {
	// Where requests wait on locks, in the round's mutex profile.
	runtime.SetMutexProfileFraction(20)
	snapshot := func(kind string, n int) {
		f, err := os.Create(fmt.Sprintf("%s.%s-%d.pprof", prefix, kind, n))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup(kind).WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
	allocs := func(n int) {
		snapshot("allocs", n)
		snapshot("mutex", n)
	}
	allocs(0)
	f, err := os.Create(prefix + ".pprof")
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		allocs(1)
		runtime.SetMutexProfileFraction(0)
	}
}

// groupCommits reads the audit log's group-commit histogram: how many
// produce requests, carrying how many events.
func groupCommits(b *testing.B, f *fixture) (uint64, float64) {
	families, err := f.auditMetrics.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == "passerelle_audit_group_commit_events" {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}

// brokerCPU is the CPU the local broker has used, read from /proc for the
// process PASSERELLE_BENCH_BROKER_PID names (deploy/local/kafka.sh keeps it
// in its pid file), or -1: on two shared cores the broker's work is the
// other half of what an audited query costs.
func brokerCPU(b *testing.B) time.Duration {
	pid := os.Getenv("PASSERELLE_BENCH_BROKER_PID")
	if pid == "" {
		return -1
	}
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		b.Fatalf("broker CPU: %v", err)
	}
	// Fields after the command, which may hold spaces: utime and stime
	// are the 14th and 15th of the line, in clock ticks of 10 ms.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
