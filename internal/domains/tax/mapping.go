package tax

import (
	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/sqlpoll"
)

// Table is how the connector reads the tax office's database.
var Table = sqlpoll.Config{
	Table: "household_assessment", Key: "id", Version: "updated_at",
	Columns: []string{"nir", "tax_year", "household_id", "role", "shares", "reference_income_cents",
		"taxable_income_cents", "tax_due_cents", "dependants", "commune_code", "withholding_rate_bp", "updated_at"},
}

// Mapping implements connectors.Mapping.
type Mapping struct{}

// Map implements connectors.Mapping.
func (Mapping) Map(row connectors.Row) (connectors.Mapped, error) {
	f := row.Data.(connectors.Fields)
	var c connectors.Check
	h := &Household{}
	nir := c.NIR("nir", f["nir"])
	h.TaxYear = int32(c.Range("tax_year", c.Int("tax_year", f["tax_year"]), 1950, 2100))
	h.HouseholdID = c.Required("household_id", f["household_id"])
	h.Role = c.Enum("role", f["role"], "DECLARANT", "CO_DECLARANT", "DEPENDANT")
	h.Shares = c.Decimal("shares", f["shares"])
	h.ReferenceIncomeCents = c.Cents("reference_income_cents", f["reference_income_cents"])
	h.TaxableIncomeCents = c.Cents("taxable_income_cents", f["taxable_income_cents"])
	h.TaxDueCents = c.Cents("tax_due_cents", f["tax_due_cents"])
	h.Dependants = int32(c.Range("dependants", c.Int("dependants", f["dependants"]), 0, 99))
	h.CommuneCode = c.Commune("commune_code", f["commune_code"])
	h.WithholdingRateBP = c.OptionalInt("withholding_rate_bp", f["withholding_rate_bp"])
	if h.WithholdingRateBP != nil {
		c.Range("withholding_rate_bp", int64(*h.WithholdingRateBP), 0, 10000)
	}
	updated := c.Timestamp("updated_at", f["updated_at"])
	if err := c.Err(); err != nil {
		return connectors.Mapped{}, err
	}
	return connectors.Mapped{NIR: nir, EventTime: updated, Record: h, Meta: &h.Meta}, nil
}

var _ connectors.Mapping = Mapping{}
