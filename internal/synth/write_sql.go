package synth

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Dialect is the SQL engine of a source database.
type Dialect int

// The engines synth writes to: PostgreSQL through the "pgx" driver, SQLite
// through "sqlite" (modernc.org/sqlite).
const (
	Postgres Dialect = iota + 1
	SQLite
)

func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Table is a source table as synthesised: an increasing integer id, then
// columns whose types read the same from both engines (TEXT and integers),
// and its rows.
type Table struct {
	Name string
	// Columns are name and SQL type, after the id.
	Columns [][2]string
	// Rows is the number of rows; Row appends row i's values, id first,
	// to args.
	Rows int
	Row  func(args []any, i int) []any
}

// TaxTable is p.Tax as the table household_assessment: row i has id i+1,
// the key the manifest lists.
func TaxTable(p *Population) Table {
	return Table{Name: "household_assessment", Columns: [][2]string{
		{"nir", "TEXT NOT NULL"}, {"tax_year", "INTEGER NOT NULL"}, {"household_id", "TEXT NOT NULL"},
		{"role", "TEXT NOT NULL"}, {"shares", "TEXT NOT NULL"}, {"reference_income_cents", "BIGINT NOT NULL"},
		{"taxable_income_cents", "BIGINT NOT NULL"}, {"tax_due_cents", "BIGINT NOT NULL"},
		{"dependants", "INTEGER NOT NULL"}, {"commune_code", "TEXT NOT NULL"},
		{"withholding_rate_bp", "INTEGER NULL"}, {"updated_at", "TEXT NOT NULL"},
	}, Rows: len(p.Tax), Row: func(args []any, i int) []any {
		r := &p.Tax[i]
		var wh any
		if r.WithholdingRateBP != nil {
			wh = int64(*r.WithholdingRateBP)
		}
		return append(args, r.ID, r.NIR, int64(r.TaxYear), r.HouseholdID, r.Role, r.Shares,
			r.ReferenceIncomeCents, r.TaxableIncomeCents, r.TaxDueCents, int64(r.Dependants),
			r.CommuneCode, wh, RFC3339(r.UpdatedAt))
	}}
}

// HRTable is p.HR as the table employment: row i has id i+1, the key the
// manifest lists.
func HRTable(p *Population) Table {
	return Table{Name: "employment", Columns: [][2]string{
		{"nir", "TEXT NOT NULL"}, {"employer_siret", "TEXT NOT NULL"}, {"employer_name", "TEXT NOT NULL"},
		{"corps", "TEXT NOT NULL"}, {"grade", "TEXT NOT NULL"}, {"category", "TEXT NOT NULL"},
		{"status", "TEXT NOT NULL"}, {"start_date", "TEXT NOT NULL"}, {"end_date", "TEXT NULL"},
		{"working_time_percent", "INTEGER NOT NULL"}, {"gross_monthly_pay_cents", "BIGINT NOT NULL"},
		{"updated_at", "TEXT NOT NULL"},
	}, Rows: len(p.HR), Row: func(args []any, i int) []any {
		r := &p.HR[i]
		var end any
		if r.EndDate != "" {
			end = r.EndDate
		}
		return append(args, r.ID, r.NIR, r.EmployerSIRET, r.EmployerName, r.Corps, r.Grade, r.Category,
			r.Status, r.StartDate, end, int64(r.WorkingTimePercent), r.GrossMonthlyPayCents, RFC3339(r.UpdatedAt))
	}}
}

// WriteTax writes p.Tax into the table household_assessment, creating it
// if missing. The table must be empty.
func WriteTax(ctx context.Context, db *sql.DB, dialect Dialect, p *Population) error {
	return WriteTable(ctx, db, dialect, TaxTable(p))
}

// WriteHR writes p.HR into the table employment, creating it if missing.
// The table must be empty.
func WriteHR(ctx context.Context, db *sql.DB, dialect Dialect, p *Population) error {
	return WriteTable(ctx, db, dialect, HRTable(p))
}

// RFC3339 is how source tables spell a timestamp.
func RFC3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// WriteTable creates t if missing and inserts its rows in one transaction,
// many rows per INSERT: a round trip per row would make 100,000 rows take
// minutes on PostgreSQL. The table must be empty.
// Ids are explicit so they are the manifest's whatever the sequence says;
// PostgreSQL's sequence is then moved past them.
func WriteTable(ctx context.Context, db *sql.DB, d Dialect, t Table) error {
	n, row := t.Rows, t.Row
	if d != Postgres && d != SQLite {
		return fmt.Errorf("write %s: %w: %v", t.Name, ErrDialect, d)
	}
	if _, err := db.ExecContext(ctx, t.ddl(d)); err != nil {
		return fmt.Errorf("create table %s: %w", t.Name, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write %s: %w", t.Name, err)
	}
	defer tx.Rollback() // a no-op after Commit

	var rows int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+t.Name).Scan(&rows); err != nil {
		return fmt.Errorf("count rows of %s: %w", t.Name, err)
	}
	if rows > 0 {
		return fmt.Errorf("write %s: %w: %d rows", t.Name, ErrNotEmpty, rows)
	}
	cols := len(t.Columns) + 1
	// Within both engines' limits on parameters per statement (SQLite's
	// 32766, PostgreSQL's 65535), and large enough that round trips no
	// longer dominate.
	batch := min(1000, 30000/cols)
	full, err := tx.PrepareContext(ctx, t.insert(d, batch))
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", t.Name, err)
	}
	defer full.Close()
	args := make([]any, 0, batch*cols)
	for i := 0; i < n; i += batch {
		k := min(batch, n-i)
		args = args[:0]
		for j := i; j < i+k; j++ {
			args = row(args, j)
		}
		if k == batch {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, t.insert(d, k), args...)
		}
		if err != nil {
			return fmt.Errorf("insert into %s: %w", t.Name, err)
		}
	}
	if d == Postgres && n > 0 {
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT max(id) FROM %s))", t.Name, t.Name)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("move the id sequence of %s: %w", t.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", t.Name, err)
	}
	return nil
}

func (t Table) ddl(d Dialect) string {
	id := "id INTEGER PRIMARY KEY AUTOINCREMENT"
	if d == Postgres {
		id = "id BIGSERIAL PRIMARY KEY"
	}
	defs := []string{id}
	for _, c := range t.Columns {
		defs = append(defs, c[0]+" "+c[1])
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  %s\n)", t.Name, strings.Join(defs, ",\n  "))
}

// insert is a k-row INSERT with the dialect's placeholders.
func (t Table) insert(d Dialect, k int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.Name + " (id")
	for _, c := range t.Columns {
		b.WriteString(", " + c[0])
	}
	b.WriteString(") VALUES ")
	cols := len(t.Columns) + 1
	for i := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			if d == Postgres {
				fmt.Fprintf(&b, "$%d", i*cols+j+1)
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}
