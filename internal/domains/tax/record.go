package tax

import (
	"math/big"

	"github.com/passerelle-bus/passerelle/schemas"
)

// The Go mirror of the .avsc beside this file, field by field: enums are
// strings holding the symbol, optional fields pointers, money integer euro
// cents.

// Household is passerelle.tax.Household (latest version).
type Household struct {
	Meta                 schemas.Meta `avro:"meta"`
	TaxYear              int32        `avro:"tax_year"`
	HouseholdID          string       `avro:"household_id"`
	Role                 string       `avro:"role"`
	Shares               *big.Rat     `avro:"shares"`
	ReferenceIncomeCents int64        `avro:"reference_income_cents"`
	TaxableIncomeCents   int64        `avro:"taxable_income_cents"`
	TaxDueCents          int64        `avro:"tax_due_cents"`
	Dependants           int32        `avro:"dependants"`
	CommuneCode          string       `avro:"commune_code"`
	WithholdingRateBP    *int32       `avro:"withholding_rate_bp"`
}
