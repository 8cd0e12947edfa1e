package finance

import (
	"time"

	"github.com/passerelle-bus/passerelle/schemas"
)

// The Go mirror of the .avsc beside this file, field by field: enums are
// strings holding the symbol, optional fields pointers, money integer euro
// cents.

// Payment is passerelle.finance.Payment.
type Payment struct {
	Meta        schemas.Meta `avro:"meta"`
	PaymentID   string       `avro:"payment_id"`
	Benefit     string       `avro:"benefit"`
	PeriodStart time.Time    `avro:"period_start"`
	PeriodEnd   time.Time    `avro:"period_end"`
	AmountCents int64        `avro:"amount_cents"`
	Payer       string       `avro:"payer"`
	PaymentDate time.Time    `avro:"payment_date"`
	Status      string       `avro:"status"`
}
