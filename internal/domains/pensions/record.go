package pensions

import (
	"time"

	"github.com/passerelle-bus/passerelle/schemas"
)

// Entitlement is passerelle.pensions.Entitlement, the Go mirror of the
// .avsc beside this file: enums are strings holding the symbol, optional
// fields pointers, money integer euro cents.
type Entitlement struct {
	Meta              schemas.Meta `avro:"meta"`
	Scheme            string       `avro:"scheme"`
	StartDate         time.Time    `avro:"start_date"`
	Quarters          int32        `avro:"quarters"`
	Rate              string       `avro:"rate"`
	MonthlyGrossCents int64        `avro:"monthly_gross_cents"`
	MonthlyNetCents   int64        `avro:"monthly_net_cents"`
	LastPaymentDate   *time.Time   `avro:"last_payment_date"`
	Status            string       `avro:"status"`
	EndDate           *time.Time   `avro:"end_date"`
}
