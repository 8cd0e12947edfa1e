package finance

import "github.com/passerelle-bus/passerelle/internal/domain"

func sample() any {
	return &Payment{
		Meta: domain.SampleMeta("finance"), PaymentID: "PAY-2026-000042", Benefit: "HOUSING_AID",
		PeriodStart: domain.SampleDay("2026-02-01"), PeriodEnd: domain.SampleDay("2026-02-28"), AmountCents: 23_150,
		Payer: "CAF 75", PaymentDate: domain.SampleDay("2026-03-05"), Status: "PAID",
	}
}
