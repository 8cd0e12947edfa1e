package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/synth"
)

// DefaultSourcesDir is where synth writes the source systems by default.
const DefaultSourcesDir = ".passerelle-demo/sources"

// runSynth generates a synthetic population and writes it into every
// domain's source system the connectors read: SQL tables (SQLite files, or
// PostgreSQL) or file drops, as each domain's folder says.
func runSynth(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "synth", "synth --citizens N --seed S [--out DIR] [--list] [--defects 0.01] [--pg-url URL]")
	citizens := fs.Int("citizens", 1000, "number of citizens")
	seed := fs.Int64("seed", 1, "random seed: the same seed writes the same sources, byte for byte")
	out := fs.String("out", DefaultSourcesDir, "directory of the source systems")
	list := fs.Bool("list", false, "print the citizens' NIRs, one a line, and write nothing")
	defects := fs.Float64("defects", synth.DefaultDefectRate, fmt.Sprintf("share of each source's rows that are defective, 0 to %g", synth.MaxDefectRate))
	pgURL := fs.String("pg-url", "", "write every SQL source's table (tax, hr, pensions...) into this PostgreSQL database instead of SQLite files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *citizens < 1 {
		fmt.Fprintln(e.stderr, "--citizens must be at least 1")
		return errUsage
	}
	if *defects < 0 || *defects > synth.MaxDefectRate {
		fmt.Fprintf(e.stderr, "--defects must be between 0 and %g\n", synth.MaxDefectRate)
		return errUsage
	}
	opts := synth.Options{DefectRate: *defects}
	if *defects == 0 { // the library reads 0 as "the default rate"
		opts.DefectRate = synth.NoDefects
	}

	start := time.Now()
	p := synth.Generate(*citizens, *seed, opts)
	if *list {
		w := bufio.NewWriter(e.stdout)
		for _, c := range p.Citizens {
			fmt.Fprintln(w, c.NIR)
		}
		return w.Flush()
	}
	generated := time.Since(start)
	srcs, where, err := writeSources(ctx, p, *out, *pgURL)
	if errors.Is(err, synth.ErrNotEmpty) {
		return fmt.Errorf("%w (synth writes fresh sources: remove them or choose another --out or database)", err)
	}
	if err != nil {
		return err
	}

	fmt.Fprintf(e.stdout, "synth: %d citizens, seed %d, defect rate %.2f%%: generated in %s, written in %s\n",
		len(p.Citizens), *seed, 100*p.DefectRate, generated.Round(time.Millisecond), (time.Since(start) - generated).Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "  %-12s %9s %9s  %s\n", "domain", "rows", "defective", "source")
	for i, d := range domains.All() {
		m := srcs[i].Manifest
		fmt.Fprintf(e.stdout, "  %-12s %9d %9d  %s\n", d.Name, m.Total(), len(m.Defective), where[i])
	}
	return nil
}

// writeSources writes every domain's source and says where each went, in
// registry order.
func writeSources(ctx context.Context, p *synth.Population, dir, pgURL string) ([]synth.Source, []string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	var (
		srcs  []synth.Source
		where []string
	)
	for _, d := range domains.All() {
		src := d.Synth(p)
		if src.Table == nil {
			if err := src.WriteFiles(dir); err != nil {
				return nil, nil, err
			}
			srcs, where = append(srcs, src), append(where, filepath.Join(dir, d.Name, "inbox"))
			continue
		}
		dialect, dsn, shown := synth.SQLite, sqliteDSN(filepath.Join(dir, d.Name+".sqlite")), filepath.Join(dir, d.Name+".sqlite")
		if pgURL != "" {
			dialect, dsn, shown = synth.Postgres, pgURL, redactURL(pgURL)
		}
		if err := writeTable(ctx, dialect, dsn, *src.Table); err != nil {
			return nil, nil, err
		}
		srcs, where = append(srcs, src), append(where, fmt.Sprintf("table %s in %s", src.Table.Name, shown))
	}
	return srcs, where, nil
}

func writeTable(ctx context.Context, d synth.Dialect, dsn string, t synth.Table) error {
	driver := map[synth.Dialect]string{synth.Postgres: "pgx", synth.SQLite: "sqlite"}[d]
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return fmt.Errorf("open %s: %w", d, err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", d, err)
	}
	return synth.WriteTable(ctx, db, d, t)
}

// sqliteDSN opens an SQLite file in WAL mode, so that a connector can read
// it while it is written, and waits rather than failing on a lock.
func sqliteDSN(path string) string {
	return "file:" + filepath.ToSlash(path) + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"
}

// redactURL hides a database URL's password from the summary.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "PostgreSQL"
	}
	return u.Redacted()
}
