package synth

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"regexp"
	"strings"
)

var errNoPG = errors.New("PASSERELLE_PG_URL is not set")

// openPGSchema opens the PostgreSQL of PASSERELLE_PG_URL on a new schema,
// so that tests and benchmarks sharing the database never see each other's
// tables; drop removes the schema.
func openPGSchema(name string) (db *sql.DB, drop func() error, err error) {
	raw := os.Getenv("PASSERELLE_PG_URL")
	if raw == "" {
		return nil, nil, errNoPG
	}
	schema := "synth_" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(name, "_"))
	schema = fmt.Sprintf("%.40s_%x", schema, rand.Uint32())
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		return nil, nil, err
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		admin.Close()
		return nil, nil, err
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx passes unknown parameters on to the server
	u.RawQuery = q.Encode()
	db, err = sql.Open("pgx", u.String())
	if err != nil {
		admin.Close()
		return nil, nil, err
	}
	return db, func() error {
		db.Close()
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			return fmt.Errorf("drop schema: %w", err)
		}
		return nil
	}, nil
}
