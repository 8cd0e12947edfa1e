package synth

import "errors"

var (
	// ErrNotEmpty: the table already has rows, or the inbox already holds a
	// file of the name synth would write. synth writes fresh sources only,
	// so that the manifest's keys are the rows' keys: write into a new
	// database or directory, or empty this one.
	ErrNotEmpty = errors.New("source already holds data")
	// ErrDialect: the Dialect is neither Postgres nor SQLite.
	ErrDialect = errors.New("unknown SQL dialect")
)
