package connect_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// BenchmarkConnector runs the passerelle binary as a connector process over
// 100,000 synthetic citizens into the real broker, per domain and signing
// mode, and reports rows/s, the process's CPU time and peak RSS. Run it
// with -benchtime 1x: one iteration is one whole run.
func BenchmarkConnector(b *testing.B) {
	tg := bustest.Real(b)
	pg := os.Getenv("PASSERELLE_PG_URL")
	if pg == "" {
		b.Skip("PASSERELLE_PG_URL not set")
	}
	ctx := context.Background()
	bin := filepath.Join(b.TempDir(), "passerelle")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/passerelle-bus/passerelle/cmd/passerelle").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	client := tg.Client(b)
	if err := client.EnsureTopics(ctx, domains.Topics(6)...); err != nil {
		b.Fatal(err)
	}
	p := synth.Generate(100_000, 5, synth.Options{DefectRate: 0.01})
	db, err := sql.Open("pgx", pg)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	files := b.TempDir()
	rows := map[string]int64{}
	for _, d := range domains.All() {
		src := d.Synth(p)
		rows[d.Name] = int64(src.Manifest.Total())
		if src.Table == nil {
			if err := src.WriteFiles(files); err != nil {
				b.Fatal(err)
			}
			continue
		}
		db.ExecContext(ctx, "DROP TABLE IF EXISTS "+src.Table.Name)
		if err := synth.WriteTable(ctx, db, synth.Postgres, *src.Table); err != nil {
			b.Fatal(err)
		}
	}
	members, specs := specsFor(fmt.Sprintf("bench%d", time.Now().UnixNano()))
	w := trusttest.New(b, specs)
	pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo")).Ensure(pseudo.KeyNames(domains.Names())...)

	for _, tc := range []struct {
		domain, mode string
		seal         bool
	}{
		{"tax", "batch", false}, {"tax", "batch", true}, {"tax", "record", false}, {"civilstatus", "batch", false}, {"civilstatus", "batch", true},
		{"hr", "batch", false}, {"finance", "batch", false}, {"health", "batch", false}, {"health", "batch", true}, {"pensions", "batch", false},
	} {
		name := tc.domain + "/" + tc.mode
		if tc.seal {
			name += "/sealed" // personal fields sealed, keys on the key topic (issue 19)
		}
		b.Run(name, func(b *testing.B) {
			rows := rows[tc.domain]
			d, _ := domains.ByName(tc.domain)
			for i := 0; b.Loop(); i++ {
				// Each run starts from a fresh checkpoint; file drops are
				// copied back into an inbox of their own.
				state := b.TempDir()
				// The password, if the URL has one, goes through the
				// environment: a config file never holds it.
				pgSrc := connect.SQLSource("pgx", pg)
				src := fmt.Sprintf("dsn: %q\n  driver: pgx", pgSrc.DSN)
				if !pgSrc.Password.IsZero() {
					src += "\n  password: ${PASSERELLE_PG_PASSWORD}"
				}
				if !d.Source.SQL() {
					dir := b.TempDir()
					if out, err := exec.Command("cp", "-r", filepath.Join(files, tc.domain, "inbox"), dir).CombinedOutput(); err != nil {
						b.Fatalf("%v %s", err, out)
					}
					src = fmt.Sprintf("dir: %q", dir)
				}
				cfg := filepath.Join(state, "c.yaml")
				os.WriteFile(cfg, fmt.Appendf(nil, "member: %s\ndomain: %s\ndata: %s\nstate: %s\nkafka:\n%ssigning: %s\nbatch_size: 2000\nseal: %v\nsource:\n  %s\n",
					members[tc.domain], tc.domain, w.Dir, state, tg.KafkaYAML(2), tc.mode, tc.seal, src), 0o600)
				cmd := exec.Command(bin, "connect", tc.domain, "--config", cfg, "--until-idle")
				cmd.Env = append(os.Environ(), "PASSERELLE_PG_PASSWORD="+pgSrc.Password.Value())
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				start := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				peak := watchPeakRSS(cmd.Process.Pid)
				if err := cmd.Wait(); err != nil {
					b.Fatalf("%v\n%s", err, out.String())
				}
				elapsed := time.Since(start)
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
				b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
				b.ReportMetric(float64(peak())/1024, "peak-RSS-MB")
				b.ReportMetric(cpu.Seconds(), "cpu-s")
				b.ReportMetric(float64(rows), "rows")
			}
		})
	}
}

// watchPeakRSS samples the process's VmHWM until it exits. rusage's maxrss
// cannot be used: Linux carries the parent's high-water mark into a forked
// child, and this benchmark's parent holds the whole population.
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			b, err := os.ReadFile(path)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
					if kb > peak.Load() {
						peak.Store(kb)
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() int64 {
		<-done
		return peak.Load()
	}
}
