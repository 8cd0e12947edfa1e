package pensions

import (
	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/sqlpoll"
)

// Table is how the connector reads the pension fund's database.
var Table = sqlpoll.Config{
	Table: "pension_entitlement", Key: "id", Version: "updated_at",
	Columns: []string{"nir", "scheme", "start_date", "quarters", "rate", "monthly_gross_cents", "monthly_net_cents",
		"last_payment_date", "status", "end_date", "updated_at"},
}

// Mapping implements connectors.Mapping for the fund's entitlement table.
type Mapping struct{}

// Map implements connectors.Mapping.
func (Mapping) Map(row connectors.Row) (connectors.Mapped, error) {
	f := row.Data.(connectors.Fields)
	var c connectors.Check
	e := &Entitlement{}
	nir := c.NIR("nir", f["nir"])
	e.Scheme = c.Enum("scheme", f["scheme"], "GENERAL", "SELF_EMPLOYED")
	e.StartDate = c.Date("start_date", f["start_date"])
	e.Quarters = int32(c.Range("quarters", c.Int("quarters", f["quarters"]), 1, 250))
	e.Rate = c.Enum("rate", f["rate"], "FULL", "REDUCED")
	e.MonthlyGrossCents = c.Cents("monthly_gross_cents", f["monthly_gross_cents"])
	e.MonthlyNetCents = c.Cents("monthly_net_cents", f["monthly_net_cents"])
	c.Range("monthly_net_cents", e.MonthlyNetCents, 0, e.MonthlyGrossCents) // contributions are never negative
	e.LastPaymentDate = c.OptionalDate("last_payment_date", f["last_payment_date"])
	e.Status = c.Enum("status", f["status"], "PAID", "SUSPENDED", "ENDED")
	e.EndDate = c.OptionalDate("end_date", f["end_date"])
	if e.Status == "ENDED" {
		c.Required("end_date", f["end_date"]) // an ended pension says when
	}
	c.Period("end_date", e.StartDate, e.EndDate)
	updated := c.Timestamp("updated_at", f["updated_at"])
	if err := c.Err(); err != nil {
		return connectors.Mapped{}, err
	}
	return connectors.Mapped{NIR: nir, EventTime: updated, Record: e, Meta: &e.Meta}, nil
}

var _ connectors.Mapping = Mapping{}
