package hr

import (
	"time"

	"github.com/passerelle-bus/passerelle/schemas"
)

// The Go mirror of the .avsc beside this file, field by field: enums are
// strings holding the symbol, optional fields pointers, money integer euro
// cents.

// Employment is passerelle.hr.Employment.
type Employment struct {
	Meta                 schemas.Meta `avro:"meta"`
	EmployerSIRET        string       `avro:"employer_siret"`
	EmployerName         string       `avro:"employer_name"`
	Corps                string       `avro:"corps"`
	Grade                string       `avro:"grade"`
	Category             string       `avro:"category"`
	Status               string       `avro:"status"`
	StartDate            time.Time    `avro:"start_date"`
	EndDate              *time.Time   `avro:"end_date"`
	WorkingTimePercent   int32        `avro:"working_time_percent"`
	GrossMonthlyPayCents int64        `avro:"gross_monthly_pay_cents"`
}
