package synth

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// snapshot is every output of a directory written by writeAll: the files'
// bytes, and the tables dumped as text (an SQLite file's own bytes may vary
// with the library, not the data).
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch rel {
		case "tax.sqlite":
			out["tax.sqlite.txt"] = []byte(dumpTable(t, openSQLite(t, path), "household_assessment"))
		case "hr.sqlite":
			out["hr.sqlite.txt"] = []byte(dumpTable(t, openSQLite(t, path), "employment"))
		default:
			b, err := os.ReadFile(path)
			out[filepath.ToSlash(rel)] = b
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	tests := []struct {
		name         string
		seedA, seedB int64
		same         bool
	}{
		{"same seed, same bytes", 7, 7, true},
		{"another seed, other bytes", 7, 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := t.TempDir(), t.TempDir()
			writeAll(t, a, Generate(3000, tt.seedA, Options{DefectRate: 0.05}))
			writeAll(t, b, Generate(3000, tt.seedB, Options{DefectRate: 0.05}))
			sa, sb := snapshot(t, a), snapshot(t, b)
			if len(sa) < 8 {
				t.Fatalf("only %d outputs: %v", len(sa), slices.Sorted(maps.Keys(sa)))
			}
			for _, name := range slices.Sorted(maps.Keys(sa)) {
				if equal := bytes.Equal(sa[name], sb[name]); equal != tt.same {
					t.Errorf("%s: equal = %v", name, equal)
				}
			}
			if tt.same && !slices.Equal(slices.Sorted(maps.Keys(sa)), slices.Sorted(maps.Keys(sb))) {
				t.Errorf("different file sets")
			}
		})
	}
}

// The defect rate changes which defective rows there are and where, hence
// the keys, but no valid row's content.
func TestValidRowsIgnoreDefectRate(t *testing.T) {
	a := Generate(2000, 3, Options{DefectRate: NoDefects})
	b := Generate(2000, 3, Options{DefectRate: 0.3})
	if !reflect.DeepEqual(a.Citizens, b.Citizens) {
		t.Fatal("citizens differ")
	}
	tests := []struct {
		name   string
		strip  func(p *Population) any
		wantNo int
	}{
		{"tax", func(p *Population) any {
			return validOnly(p.Tax, func(r TaxRow) (TaxRow, bool) { r.ID, r.UpdatedAt = 0, time.Time{}; return r, r.Defect.Kind == "" })
		}, len(a.Tax)},
		{"hr", func(p *Population) any {
			return validOnly(p.HR, func(r EmploymentRow) (EmploymentRow, bool) {
				r.ID, r.UpdatedAt = 0, time.Time{}
				return r, r.Defect.Kind == ""
			})
		}, len(a.HR)},
		{"finance", func(p *Population) any {
			return validOnly(p.Payments, func(r PaymentRow) (PaymentRow, bool) { r.PaymentID = ""; return r, r.Defect.Kind == "" })
		}, len(a.Payments)},
		{"civilstatus", func(p *Population) any {
			return validOnly(p.Events, func(r CivilEvent) (CivilEvent, bool) { r.ID = ""; return r, r.Defect.Kind == "" })
		}, len(a.Events)},
		{"health", func(p *Population) any {
			return validOnly(p.Coverages, func(r CoverageRow) (CoverageRow, bool) {
				r.ID, r.PatientID = "", ""
				return r, r.Defect.Kind == ""
			})
		}, len(a.Coverages)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reflect.ValueOf(tt.strip(a)).Len(); got != tt.wantNo {
				t.Fatalf("NoDefects population has %d valid rows of %d", got, tt.wantNo)
			}
			if !reflect.DeepEqual(tt.strip(a), tt.strip(b)) {
				t.Error("valid rows differ")
			}
		})
	}
}

func validOnly[T any](rows []T, strip func(T) (T, bool)) []T {
	var out []T
	for _, r := range rows {
		if s, ok := strip(r); ok {
			out = append(out, s)
		}
	}
	return out
}

// Every row written is read back once, valid rows pass a connector's
// checks and defective ones fail them for the recorded reason.
func TestSourcesMatchManifest(t *testing.T) {
	p := Generate(5000, 11, Options{DefectRate: 0.05})
	dir := t.TempDir()
	writeAll(t, dir, p)
	got := readSources(t, dir)
	for _, d := range Domains() {
		t.Run(string(d), func(t *testing.T) {
			checkAgainstManifest(t, d, got[d], p.Manifest[d])
		})
	}
}

func TestDefectShare(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want float64
	}{
		{"zero options mean the default", Options{}, DefaultDefectRate},
		{"none", Options{DefectRate: NoDefects}, 0},
		{"five percent", Options{DefectRate: 0.05}, 0.05},
		{"a fifth", Options{DefectRate: 0.2}, 0.2},
		{"capped", Options{DefectRate: 0.9}, MaxDefectRate},
	}
	p0 := Generate(4000, 5, Options{DefectRate: NoDefects})
	citizens := map[string]bool{}
	for _, c := range p0.Citizens {
		citizens[c.NIR] = true
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Generate(4000, 5, tt.opts)
			if p.DefectRate != tt.want {
				t.Fatalf("DefectRate = %v, want %v", p.DefectRate, tt.want)
			}
			for _, d := range Domains() {
				m := p.Manifest[d]
				// Rounding to whole rows: within one row of the rate.
				if got := m.DefectShare(); got < tt.want-1.0/float64(m.Total()) || got > tt.want+1.0/float64(m.Total()) {
					t.Errorf("%s: defect share %.4f, want %.4f", d, got, tt.want)
				}
				kinds := map[DefectKind]bool{}
				for _, e := range m.Defective {
					kinds[e.Defect.Kind] = true
					if citizens[e.NIR] {
						t.Errorf("%s: defective row %s has a citizen's NIR", d, e.Key)
					}
					err := pseudo.ValidateNIR(e.NIR)
					switch e.Defect.Kind {
					case DefectNIRKey:
						if !errors.Is(err, pseudo.ErrNIRKey) {
							t.Errorf("%s: %s: a wrong key gives %v", d, e.Key, err)
						}
					case DefectNIRFormat:
						if !errors.Is(err, pseudo.ErrNIRFormat) {
							t.Errorf("%s: %s: a malformed NIR gives %v", d, e.Key, err)
						}
					default:
						if err != nil {
							t.Errorf("%s: %s (%s): NIR %v", d, e.Key, e.Defect.Kind, err)
						}
					}
				}
				if all := DefectKinds(d); len(m.Defective) >= len(all) && len(kinds) != len(all) {
					t.Errorf("%s: %d defective rows of %d kinds, want all %d kinds", d, len(m.Defective), len(kinds), len(all))
				}
			}
		})
	}
}

// pgDB is a database on the PostgreSQL named by PASSERELLE_PG_URL, in a
// schema of its own dropped afterwards.
func pgDB(t testing.TB) *sql.DB {
	t.Helper()
	db, drop, err := openPGSchema(t.Name())
	if errors.Is(err, errNoPG) {
		msg := "PostgreSQL not configured: run `eval $(deploy/local/postgres.sh up | sed 's/^/export /')` (or make test)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must not skip PostgreSQL tests")
		}
		t.Skip(msg)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestSQLWriters(t *testing.T) {
	p := Generate(3000, 2, Options{DefectRate: 0.05})
	ctx := context.Background()
	tables := []struct {
		name  string
		table string
		write func(context.Context, *sql.DB, Dialect, *Population) error
	}{
		{"tax", "household_assessment", WriteTax},
		{"hr", "employment", WriteHR},
	}
	sqlite := openSQLite(t, filepath.Join(t.TempDir(), "reference.sqlite"))
	for _, tb := range tables {
		if err := tb.write(ctx, sqlite, SQLite, p); err != nil {
			t.Fatal(err)
		}
	}
	dialects := []struct {
		name    string
		dialect Dialect
		open    func(t testing.TB) *sql.DB
	}{
		{"sqlite", SQLite, func(t testing.TB) *sql.DB { return openSQLite(t, filepath.Join(t.TempDir(), "s.sqlite")) }},
		{"postgres", Postgres, pgDB},
	}
	for _, dl := range dialects {
		for _, tb := range tables {
			t.Run(dl.name+"/"+tb.name, func(t *testing.T) {
				db := dl.open(t)
				if err := tb.write(ctx, db, dl.dialect, p); err != nil {
					t.Fatal(err)
				}
				checkAgainstManifest(t, Domain(tb.name), readTable(t, db, tb.table), p.Manifest[Domain(tb.name)])
				if got, want := dumpTable(t, db, tb.table), dumpTable(t, sqlite, tb.table); got != want {
					t.Errorf("%s reads differently from SQLite", dl.name)
				}
				if err := tb.write(ctx, db, dl.dialect, p); !errors.Is(err, ErrNotEmpty) {
					t.Errorf("second write: %v, want ErrNotEmpty", err)
				}
				// The owner's next row continues after the synthetic ones.
				n := int64(p.Manifest[Domain(tb.name)].Total())
				cols := "nir, tax_year, household_id, role, shares, reference_income_cents, taxable_income_cents, tax_due_cents, dependants, commune_code, updated_at) VALUES ('x', 2025, 'x', 'x', 'x', 0, 0, 0, 0, 'x', 'x')"
				if tb.name == "hr" {
					cols = "nir, employer_siret, employer_name, corps, grade, category, status, start_date, working_time_percent, gross_monthly_pay_cents, updated_at) VALUES ('x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 100, 0, 'x')"
				}
				var id int64
				if err := db.QueryRowContext(ctx, "INSERT INTO "+tb.table+" ("+cols+" RETURNING id").Scan(&id); err != nil || id != n+1 {
					t.Errorf("next id %d (%v), want %d", id, err, n+1)
				}
				// Required columns are NOT NULL, so a reader may scan them
				// into plain strings.
				if _, err := db.ExecContext(ctx, "INSERT INTO "+tb.table+" (nir) VALUES ('x')"); err == nil {
					t.Errorf("a row without its required columns was accepted")
				}
			})
		}
	}
	t.Run("unknown dialect", func(t *testing.T) {
		if err := WriteTax(ctx, sqlite, Dialect(0), p); !errors.Is(err, ErrDialect) {
			t.Errorf("got %v, want ErrDialect", err)
		}
	})
}

func TestFileDrops(t *testing.T) {
	payments := func(n int) *Population {
		p := Generate(50, 1, Options{DefectRate: NoDefects})
		row := p.Payments[0]
		p.Payments = slices.Repeat([]PaymentRow{row}, n)
		return p
	}
	tests := []struct {
		name  string
		p     *Population
		files []int // rows per file
	}{
		{"no payments, no file", payments(0), nil},
		{"one full file", payments(MaxPaymentsPerFile), []int{MaxPaymentsPerFile}},
		{"one more row, one more file", payments(MaxPaymentsPerFile + 1), []int{MaxPaymentsPerFile, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteFinance(dir, tt.p); err != nil {
				t.Fatal(err)
			}
			var got []int
			for i, name := range inboxFiles(t, dir, "finance") {
				if want := filepath.Join(dir, "finance", "inbox", fmt.Sprintf("payments-%04d.csv", i+1)); name != want {
					t.Errorf("file %s, want %s", name, want)
				}
				b, _ := os.ReadFile(name)
				if !bytes.HasPrefix(b, []byte(PaymentsHeader+"\n")) {
					t.Errorf("%s does not start with the header", name)
				}
				got = append(got, bytes.Count(b, []byte("\n"))-1)
			}
			if !slices.Equal(got, tt.files) {
				t.Errorf("rows per file %v, want %v", got, tt.files)
			}
		})
	}
	t.Run("never overwrites", func(t *testing.T) {
		dir := t.TempDir()
		p := Generate(200, 1, Options{})
		for _, w := range []func(string, *Population) error{WriteFinance, WriteCivilStatus, WriteHealth} {
			if err := w(dir, p); err != nil {
				t.Fatal(err)
			}
			if err := w(dir, p); !errors.Is(err, ErrNotEmpty) {
				t.Errorf("second write: %v, want ErrNotEmpty", err)
			}
		}
	})
}

// The golden files show each format on a handful of citizens, defects
// included; refresh with go test -run Golden -update.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	writeAll(t, dir, Generate(8, 1, Options{DefectRate: 0.2}))
	got := snapshot(t, dir)
	golden := filepath.Join("testdata", "golden")
	if *update {
		os.RemoveAll(golden)
		for name, b := range got {
			path := filepath.Join(golden, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range got {
		want, err := os.ReadFile(filepath.Join(golden, filepath.FromSlash(name)))
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s differs from its golden file (run with -update if intended)", name)
		}
	}
	if !strings.Contains(string(got["civilstatus/inbox/events-0001.jsonl"]), `"event_type":"BIRTH"`) {
		t.Error("no birth in the golden events")
	}
}
