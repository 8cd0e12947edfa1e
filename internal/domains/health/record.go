package health

import (
	"time"

	"github.com/passerelle-bus/passerelle/schemas"
)

// The Go mirror of the .avsc beside this file, field by field: enums are
// strings holding the symbol, optional fields pointers, money integer euro
// cents.

// Coverage is passerelle.health.Coverage.
type Coverage struct {
	Meta              schemas.Meta `avro:"meta"`
	Scheme            string       `avro:"scheme"`
	CoverageType      string       `avro:"coverage_type"`
	StartDate         time.Time    `avro:"start_date"`
	EndDate           *time.Time   `avro:"end_date"`
	LongTermCondition bool         `avro:"long_term_condition"`
	DeclaredGP        bool         `avro:"declared_gp"`
}
