// Package synth generates a consistent synthetic population and writes it
// into the source systems the connectors read.
package synth

import (
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx" for database/sql
	_ "modernc.org/sqlite"             // pure-Go SQLite driver "sqlite"
)
