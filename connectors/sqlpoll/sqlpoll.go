// Package sqlpoll reads a SQL table by an increasing key column, the way a
// connector reads a member's database without changing it: no trigger, no
// extra table, only SELECTs. It speaks database/sql, so PostgreSQL (pgx)
// and SQLite (modernc.org/sqlite) share one code path.
package sqlpoll

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/passerelle-bus/passerelle/connectors"
)

// Config names what to read.
type Config struct {
	// Table and Columns to read; Key is an increasing integer column (a
	// BIGSERIAL, an INTEGER PRIMARY KEY) and Version a column that changes
	// when the row does (updated_at).
	Table   string
	Columns []string
	Key     string
	Version string
}

var ident = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// Source polls one table.
type Source struct {
	db                 *sql.DB
	cfg                Config
	selectAfter, byKey string
}

// New checks the identifiers (they are put into SQL text) and prepares the
// queries. The placeholders are $1, $2: PostgreSQL's, which SQLite accepts.
func New(db *sql.DB, cfg Config) (*Source, error) {
	names := append([]string{cfg.Table, cfg.Key, cfg.Version}, cfg.Columns...)
	for _, n := range names {
		if !ident.MatchString(n) {
			return nil, fmt.Errorf("sqlpoll: %q is not a plain SQL identifier", n)
		}
	}
	cols := strings.Join(append([]string{cfg.Key, cfg.Version}, cfg.Columns...), ", ")
	return &Source{
		db:          db,
		cfg:         cfg,
		selectAfter: fmt.Sprintf("SELECT %s FROM %s WHERE %s > $1 ORDER BY %s LIMIT $2", cols, cfg.Table, cfg.Key, cfg.Key),
		byKey:       fmt.Sprintf("SELECT %s FROM %s WHERE %s = $1", cols, cfg.Table, cfg.Key),
	}, nil
}

func parsePos(pos connectors.Position) (int64, error) {
	if pos == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(pos), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("sqlpoll: position %q: %w", pos, err)
	}
	return n, nil
}

// Read implements connectors.Source.
func (s *Source) Read(ctx context.Context, pos connectors.Position, max int) ([]connectors.Row, connectors.Position, error) {
	after, err := parsePos(pos)
	if err != nil {
		return nil, pos, err
	}
	rows, err := s.db.QueryContext(ctx, s.selectAfter, after, max)
	if err != nil {
		return nil, pos, fmt.Errorf("sqlpoll %s: %w", s.cfg.Table, err)
	}
	defer rows.Close()
	var out []connectors.Row
	next := pos
	for rows.Next() {
		row, err := s.scan(rows)
		if err != nil {
			return nil, pos, err
		}
		out = append(out, row)
		next = connectors.Position(row.Key)
	}
	if err := rows.Err(); err != nil {
		return nil, pos, fmt.Errorf("sqlpoll %s: %w", s.cfg.Table, err)
	}
	return out, next, nil
}

func (s *Source) scan(rows interface{ Scan(...any) error }) (connectors.Row, error) {
	vals := make([]sql.NullString, 2+len(s.cfg.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return connectors.Row{}, fmt.Errorf("sqlpoll %s: %w", s.cfg.Table, err)
	}
	f := connectors.Fields{}
	for i, c := range s.cfg.Columns {
		if vals[2+i].Valid {
			f[c] = vals[2+i].String
		}
	}
	raw, _ := json.Marshal(f)
	key := vals[0].String
	return connectors.Row{Key: key, Version: vals[1].String, At: key, Raw: raw, Data: f}, nil
}

// Commit implements connectors.Source; a table needs nothing.
func (s *Source) Commit(context.Context, connectors.Position) error { return nil }

// Reread implements connectors.Source.
func (s *Source) Reread(ctx context.Context, at string) (connectors.Row, error) {
	row, err := s.scan(s.db.QueryRowContext(ctx, s.byKey, at))
	if err != nil {
		return connectors.Row{}, fmt.Errorf("reread %s %s: %w", s.cfg.Table, at, err)
	}
	return row, nil
}

// Lag implements connectors.Lagger: keys are increasing, so the distance to
// the largest is an upper bound of the rows waiting.
func (s *Source) Lag(ctx context.Context, pos connectors.Position) (int64, error) {
	after, err := parsePos(pos)
	if err != nil {
		return 0, err
	}
	var maxKey sql.NullInt64
	q := fmt.Sprintf("SELECT MAX(%s) FROM %s", s.cfg.Key, s.cfg.Table)
	if err := s.db.QueryRowContext(ctx, q).Scan(&maxKey); err != nil {
		return 0, err
	}
	return max(0, maxKey.Int64-after), nil
}

// Close implements connectors.Source; the caller owns the *sql.DB.
func (s *Source) Close() error { return nil }

var (
	_ connectors.Source = (*Source)(nil)
	_ connectors.Lagger = (*Source)(nil)
)
