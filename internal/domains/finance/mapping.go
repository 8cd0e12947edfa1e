package finance

import (
	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/filedrop"
)

// Layout is the ledger's declared CSV layout; a file with another header is
// refused whole.
var Layout = filedrop.CSV{
	Comma: ';',
	Key:   "payment_id",
	Columns: []string{"payment_id", "nir", "benefit", "period_start", "period_end",
		"amount_cents", "payer", "payment_date", "status"},
}

// Mapping implements connectors.Mapping.
type Mapping struct{}

// Map implements connectors.Mapping.
func (Mapping) Map(row connectors.Row) (connectors.Mapped, error) {
	f := row.Data.(connectors.Fields)
	var c connectors.Check
	p := &Payment{}
	nir := c.NIR("nir", f["nir"])
	p.PaymentID = c.Required("payment_id", f["payment_id"])
	p.Benefit = c.Enum("benefit", f["benefit"], "HOUSING_AID", "MINIMUM_INCOME", "DISABILITY_ALLOWANCE", "PENSION", "FAMILY_ALLOWANCE", "OTHER")
	p.PeriodStart = c.Date("period_start", f["period_start"])
	p.PeriodEnd = c.Date("period_end", f["period_end"])
	c.Period("period_end", p.PeriodStart, &p.PeriodEnd)
	p.AmountCents = c.Cents("amount_cents", f["amount_cents"])
	p.Payer = c.Required("payer", f["payer"])
	p.PaymentDate = c.Date("payment_date", f["payment_date"])
	p.Status = c.Enum("status", f["status"], "PAID", "PENDING", "CANCELLED", "RECOVERED")
	if err := c.Err(); err != nil {
		return connectors.Mapped{}, err
	}
	return connectors.Mapped{NIR: nir, EventTime: p.PaymentDate, Record: p, Meta: &p.Meta}, nil
}

var _ connectors.Mapping = Mapping{}
