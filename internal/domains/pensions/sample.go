package pensions

import "github.com/passerelle-bus/passerelle/internal/domain"

func sample() any {
	last := domain.SampleDay("2026-03-09")
	return &Entitlement{
		Meta: domain.SampleMeta("pensions"), Scheme: "GENERAL", StartDate: domain.SampleDay("2024-10-01"),
		Quarters: 168, Rate: "REDUCED", MonthlyGrossCents: 1_587_23, MonthlyNetCents: 1_442_80,
		LastPaymentDate: &last, Status: "PAID",
	}
}
