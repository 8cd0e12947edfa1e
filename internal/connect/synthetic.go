package connect

import (
	"context"
	"database/sql"
	"path/filepath"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/synth"
)

// WriteSynthetic writes a domain's synthetic source system under dir, as
// SyntheticSource finds it: a SQL table in the SQLite file <name>.sqlite,
// or files in <name>/inbox.
func WriteSynthetic(ctx context.Context, d *domain.Domain, src synth.Source, dir string) error {
	if src.Table == nil {
		return src.WriteFiles(dir)
	}
	db, err := sql.Open("sqlite", syntheticDB(dir, d))
	if err != nil {
		return err
	}
	defer db.Close()
	return synth.WriteTable(ctx, db, synth.SQLite, *src.Table)
}

// SyntheticSource is where a connector of d reads what WriteSynthetic
// wrote under dir.
func SyntheticSource(d *domain.Domain, dir string) SourceConfig {
	if d.Source.SQL() {
		return SourceConfig{Driver: "sqlite", DSN: syntheticDB(dir, d)}
	}
	return SourceConfig{Dir: filepath.Join(dir, d.Name)}
}

func syntheticDB(dir string, d *domain.Domain) string { return filepath.Join(dir, d.Name+".sqlite") }
