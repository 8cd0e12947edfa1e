// Package connectors is how an administration joins the bus without
// changing its own systems: a Source reads rows from the administration's
// system, a Mapping turns each into a domain record, and the Runner does,
// batch after batch,
//
//	read → validate → pseudonymise → encode → sign → publish → checkpoint
//
// committing a source position only once Kafka has acknowledged every
// record before it. A row that fails goes to the domain's dead-letter topic
// with its reason; the stream never stops for it and nothing is lost.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle-bus/passerelle/schemas"
)

// Position is where a source is: opaque to everyone but the source. The
// empty position is the beginning.
type Position string

// Row is one item read from a source.
type Row struct {
	// Key identifies the row in its source (a primary key, an event id).
	Key string
	// Version distinguishes successive states of the same row; with Key
	// and the source it makes the record id.
	Version string
	// At locates the row so that Source.Reread finds it again.
	At string
	// Raw is the row as the source holds it, kept for the dead letter.
	Raw []byte
	// Data is the parsed row, of a type the source and its mapping agree on.
	Data any
	// Err, when set, means the source could not parse the row at all.
	Err error
}

// Fields is a flat row, column to value, as SQL tables and CSV files give
// them. A column that is NULL is absent.
type Fields map[string]string

// Source reads an administration's system.
type Source interface {
	// Read returns up to max rows after pos and the position after the
	// last of them. No rows and a nil error mean nothing new for now.
	Read(ctx context.Context, pos Position, max int) ([]Row, Position, error)
	// Commit tells the source that everything up to pos is published and
	// checkpointed, e.g. so that a file drop moves a finished file to done/.
	Commit(ctx context.Context, pos Position) error
	// Reread returns the row at a Row.At again, for replaying a dead
	// letter after its cause was fixed.
	Reread(ctx context.Context, at string) (Row, error)
	Close() error
}

// Lagger is implemented by sources that can tell how many rows are waiting
// after pos; the runner exports it as a gauge.
type Lagger interface {
	Lag(ctx context.Context, pos Position) (int64, error)
}

// Mapped is a row turned into a domain record.
type Mapped struct {
	// NIR is the citizen the record is about; it is pseudonymised and
	// never leaves the connector.
	NIR string
	// EventTime is when the fact happened in the source.
	EventTime time.Time
	// Record is a pointer to the domain's record (tax.Household, ...).
	Record any
	// Meta points at Record's meta field, which the runner fills.
	Meta *schemas.Meta
}

// Mapping turns rows of one source into records of one domain (the
// runner's Options name which). It is plain code a reader can follow field
// by field, and validates what the domain needs: a bad row returns a
// *Defect.
type Mapping interface {
	Map(row Row) (Mapped, error)
}

// Defect is why a row was rejected. Code is one of a small fixed set, so
// metrics stay bounded; Field and Msg say what to fix.
type Defect struct {
	Code  string
	Field string
	Msg   string
}

// Defect codes.
const (
	DefectNIR       = "bad-nir"
	DefectDate      = "bad-date"
	DefectAmount    = "bad-amount"
	DefectCommune   = "bad-commune"
	DefectEnum      = "bad-enum"
	DefectMissing   = "missing-field"
	DefectPeriod    = "bad-period"
	DefectRow       = "unreadable-row"
	DefectFile      = "unreadable-file"
	DefectEncode    = "encode-failed"
	DefectDuplicate = "duplicate"
)

func (d *Defect) Error() string {
	if d.Field == "" {
		return d.Code + ": " + d.Msg
	}
	return fmt.Sprintf("%s: %s: %s", d.Code, d.Field, d.Msg)
}

// Defectf returns a *Defect.
func Defectf(code, field, format string, args ...any) *Defect {
	return &Defect{Code: code, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// defectOf classifies any error as a defect; errors that are not defects
// are unreadable rows.
func defectOf(err error) *Defect {
	var d *Defect
	if errors.As(err, &d) {
		return d
	}
	return &Defect{Code: DefectRow, Msg: err.Error()}
}
