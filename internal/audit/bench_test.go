package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// BenchmarkVerify replays an audit log of 200,000 view events, written by
// 16 concurrent requesters through the group commit onto the real broker
// with a checkpoint every 100 ms, and verifies it: every event's batch
// signature, every writer's sequence, the tree, every checkpoint.
// "records" verifies the records in memory (the verifier's own cost),
// "topic" reads them from the broker as `passerelle audit verify` does.
func BenchmarkVerify(b *testing.B) {
	const n = 200_000
	tg := bustest.Real(b)
	client := tg.Client(b)
	world := trusttest.New(b, members)
	store := world.Store(b)
	topic := bustest.Topic(b, client, 1)
	writeEvents(b, client, world.Signer(b, "gw"), store, topic, n)
	var records []audit.Record
	ctx := context.Background()
	client.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error {
		records = append(records, audit.FromMessage(m))
		return nil
	})
	o := audit.TrailOptions{Topic: topic}
	b.Run("records", func(b *testing.B) {
		for b.Loop() {
			if rep, err := audit.VerifyRecords(records, store, o); err != nil || rep.Events != n {
				b.Fatal(rep, err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	// "tree on disk" keeps 16,384 of the tree's 400,000 stored hashes in
	// memory, as a verifier of a log 50 times longer would by default.
	for name, o := range map[string]audit.TrailOptions{"topic": o, "topic, tree on disk": {Topic: topic, VerifyHashes: 1 << 14}} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if rep, err := audit.Verify(ctx, client, store, o); err != nil || rep.Events != n {
					b.Fatal(rep, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func writeEvents(b *testing.B, client *bus.Client, signer seal.Signer, store *trust.Store, topic string, n int) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A gateway following the log signs it every 100 ms, as it is written.
	gw := startGateway(b, ctx, client, signer, store, topic, audit.TrailOptions{})
	go gw.pub.Run(ctx, 100*time.Millisecond)
	log, trail := gw.log, gw.trail
	var wg sync.WaitGroup
	start := time.Now()
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n / 16 {
				ev := audit.Event{ID: fmt.Sprintf("%04x%08x", g, i), Time: time.Now(), Kind: audit.KindView, Requester: "cnaf",
					KeyID: "QBfYx1LnH0XhTq2nZ5pV0m3jK8sR4tW6yA9cE7dF1gI", Purpose: "housing-aid-eligibility", LegalBasis: "public-task",
					Citizen: "Vx3nH8s2kLp0QwErTyUiOpAsDfGhJkLzXcVbNm12345", Decision: "allow", Rule: "cnaf-housing-aid-eligibility",
					PolicyVersion: "sha256:0123456789ab", Released: []string{"civilstatus.birth_date", "tax.reference_income", "tax.shares"}}
				if _, err := log.Append(ctx, ev); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for trail.Size() < int64(n) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the last checkpoint
	b.Logf("wrote %d events in %s (%.0f/s)", n, time.Since(start), float64(n)/time.Since(start).Seconds())
}

// BenchmarkAppend is the audit write every answer waits for: 1, 16 or 64
// requests at a time, each returning once its event is acknowledged by the real
// broker. group/op is the mean events per group commit.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) { appendConcurrently(b, n) })
	}
}

func appendConcurrently(b *testing.B, concurrency int) {
	tg := bustest.Real(b)
	client := tg.Client(b)
	world := trusttest.New(b, members)
	topic := bustest.Topic(b, client, 1)
	w := audit.NewWriter(client, nil)
	defer w.Close()
	reg := prometheus.NewRegistry()
	log, err := audit.NewLog(w, seal.NewSealer(world.Signer(b, "gw")), audit.LogOptions{Topic: topic, Metrics: reg})
	if err != nil {
		b.Fatal(err)
	}
	go log.Run(context.Background()) // Close stops it
	defer log.Close()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := log.Append(ctx, audit.Event{ID: "x", Kind: audit.KindView, Decision: "allow"}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "passerelle_audit_group_commit_events" {
			h := mf.GetMetric()[0].GetHistogram()
			b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "group/op")
		}
	}
}

// BenchmarkTrailMemory is what a gateway's trail holds per event it keeps
// for queries (the tree's hashes, the event's fields and the indexes), in
// memory or with a disk index, and how fast it reads them.
func BenchmarkTrailMemory(b *testing.B) {
	const n = 200_000
	world := trusttest.New(b, members)
	store := world.Store(b)
	values := make([][]byte, n)
	hashes := make([]tlog.Hash, n)
	ids := make([]string, n)
	for i := range values {
		// As the gateway makes them, a thousand a millisecond.
		ids[i] = audit.NewID(time.UnixMilli(1_780_000_000_000 + int64(i/1000)))
		ev := audit.Event{ID: ids[i], Writer: "0123456789abcdef", Seq: int64(i), Time: time.Now(), Kind: audit.KindView,
			Requester: "cnaf", KeyID: "QBfYx1LnH0XhTq2nZ5pV0m3jK8sR4tW6yA9cE7dF1gI", Purpose: "housing-aid-eligibility", LegalBasis: "public-task",
			Citizen: fmt.Sprintf("Vx3nH8s2kLp0QwErTyUiOpAsDfGhJkLzXc%010d", i%50_000), Decision: "allow", Rule: "cnaf-housing-aid-eligibility",
			PolicyVersion: "sha256:0123456789ab", Released: []string{"civilstatus.birth_date", "tax.reference_income", "tax.shares"}}
		values[i], _ = json.Marshal(ev)
		hashes[i] = tlog.RecordHash(values[i])
	}
	for _, disk := range []bool{false, true} {
		name := map[bool]string{false: "memory", true: "disk"}[disk]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "audit.db")
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				o := audit.TrailOptions{Topic: "t", KeepEvents: true}
				tr := audit.NewTrail(store, o)
				if disk {
					var err error
					if tr, err = audit.OpenTrail(store, path, o); err != nil {
						b.Fatal(err)
					}
				}
				tr.Expect("0123456789abcdef", 0, hashes)
				start := time.Now()
				for i, v := range values {
					if err := tr.Add(audit.Record{Offset: int64(i), Key: []byte(ids[i]), Value: v}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(n/time.Since(start).Seconds(), "events/s")
				runtime.GC()
				runtime.ReadMemStats(&after)
				held := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
				b.ReportMetric(held/n, "heap-B/event")
				b.ReportMetric(held/1e6, "heap-MB")
				runtime.KeepAlive(tr)
				if disk {
					if err := tr.Close(); err != nil {
						b.Fatal(err)
					}
					fi, _ := os.Stat(path)
					b.ReportMetric(float64(fi.Size())/n, "disk-B/event")
				}
			}
		})
	}
}
