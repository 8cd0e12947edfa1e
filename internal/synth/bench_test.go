package synth

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkGenerateAndWrite100k generates 100,000 citizens and writes all
// five sources, tax and hr into SQLite or PostgreSQL (PASSERELLE_PG_URL).
func BenchmarkGenerateAndWrite100k(b *testing.B) {
	const citizens = 100_000
	engines := []struct {
		name    string
		dialect Dialect
		open    func(b *testing.B, dir string) (db *sql.DB, done func())
	}{
		{"sqlite", SQLite, func(b *testing.B, dir string) (*sql.DB, func()) {
			db, err := sql.Open("sqlite", filepath.Join(dir, "sources.sqlite"))
			if err != nil {
				b.Fatal(err)
			}
			return db, func() { db.Close() }
		}},
		{"postgres", Postgres, func(b *testing.B, _ string) (*sql.DB, func()) {
			db, drop, err := openPGSchema(b.Name())
			if errors.Is(err, errNoPG) {
				if os.Getenv("CI") != "" {
					b.Fatal("PASSERELLE_PG_URL is not set; CI must not skip PostgreSQL benchmarks")
				}
				b.Skip("PostgreSQL not configured: run `eval $(deploy/local/postgres.sh up | sed 's/^/export /')`")
			}
			if err != nil {
				b.Fatal(err)
			}
			return db, func() { drop() }
		}},
	}
	ctx := context.Background()
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			var rows int
			for b.Loop() {
				dir := b.TempDir()
				db, done := e.open(b, dir)
				p := Generate(citizens, 1, Options{})
				for _, w := range []func(context.Context, *sql.DB, Dialect, *Population) error{WriteTax, WriteHR} {
					if err := w(ctx, db, e.dialect, p); err != nil {
						b.Fatal(err)
					}
				}
				for _, w := range []func(string, *Population) error{WriteFinance, WriteCivilStatus, WriteHealth} {
					if err := w(dir, p); err != nil {
						b.Fatal(err)
					}
				}
				done()
				os.RemoveAll(dir) // about 200 MB an iteration
				rows = 0
				for _, m := range p.Manifest {
					rows += m.Total()
				}
			}
			b.ReportMetric(float64(rows), "rows/op")
		})
	}
}
