package tax

import (
	"math/big"

	"github.com/passerelle-bus/passerelle/internal/domain"
)

func sample() any {
	rate := int32(580)
	return &Household{
		Meta: domain.SampleMeta("tax"), TaxYear: 2025, HouseholdID: "7512345678901", Role: "DECLARANT",
		Shares: big.NewRat(5, 2), ReferenceIncomeCents: 4_215_000, TaxableIncomeCents: 3_987_600,
		TaxDueCents: 231_400, Dependants: 1, CommuneCode: "75056", WithholdingRateBP: &rate,
	}
}
