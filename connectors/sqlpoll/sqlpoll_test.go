package sqlpoll_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/sqlpoll"
)

// databases returns SQLite always and the test PostgreSQL when configured
// (in CI it must be).
func databases(t *testing.T) map[string]*sql.DB {
	t.Helper()
	out := map[string]*sql.DB{}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "t.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out["sqlite"] = db
	if url := os.Getenv("PASSERELLE_PG_URL"); url != "" {
		pg, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pg.Close() })
		out["postgres"] = pg
	} else if os.Getenv("CI") != "" {
		t.Fatal("PASSERELLE_PG_URL not set; CI must run the PostgreSQL tests")
	} else {
		t.Log("PostgreSQL half skipped: run deploy/local/postgres.sh up and set PASSERELLE_PG_URL")
	}
	return out
}

func TestPollByIncreasingKey(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			table := fmt.Sprintf("poll_%d", time.Now().UnixNano())
			pk := "INTEGER PRIMARY KEY AUTOINCREMENT"
			if name == "postgres" {
				pk = "BIGSERIAL PRIMARY KEY"
			}
			if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (id %s, name TEXT, amount BIGINT, updated_at TEXT)", table, pk)); err != nil {
				t.Fatal(err)
			}
			for i := range 7 {
				var amount any = int64(i * 100)
				if i == 3 {
					amount = nil
				}
				if _, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (name, amount, updated_at) VALUES ($1, $2, $3)", table), fmt.Sprint("n", i), amount, "2026-01-01T00:00:00Z"); err != nil {
					t.Fatal(err)
				}
			}
			src, err := sqlpoll.New(db, sqlpoll.Config{Table: table, Key: "id", Version: "updated_at", Columns: []string{"name", "amount"}})
			if err != nil {
				t.Fatal(err)
			}
			var pos connectors.Position
			var all []connectors.Row
			for {
				rows, next, err := src.Read(ctx, pos, 3)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) == 0 {
					break
				}
				all, pos = append(all, rows...), next
			}
			if len(all) != 7 || pos != "7" {
				t.Fatalf("%d rows, position %q", len(all), pos)
			}
			f := all[3].Data.(connectors.Fields)
			if _, ok := f["amount"]; ok || f["name"] != "n3" {
				t.Fatalf("NULL must be absent: %v", f)
			}
			if all[2].Data.(connectors.Fields)["amount"] != "200" {
				t.Fatalf("integers read as text: %v", all[2].Data)
			}
			again, err := src.Reread(ctx, "5")
			if err != nil || again.Data.(connectors.Fields)["name"] != "n4" {
				t.Fatalf("reread: %+v %v", again, err)
			}
			if lag, _ := src.Lag(ctx, "4"); lag != 3 {
				t.Fatalf("lag after 4: %d, want 3", lag)
			}
		})
	}
	if _, err := sqlpoll.New(nil, sqlpoll.Config{Table: "t; DROP TABLE x", Key: "id", Version: "v"}); err == nil {
		t.Fatal("an injected table name was accepted")
	}
}
