package health

import "github.com/passerelle-bus/passerelle/internal/domain"

func sample() any {
	end := domain.SampleDay("2030-12-31")
	return &Coverage{
		Meta: domain.SampleMeta("health"), Scheme: "GENERAL", CoverageType: "BASIC", StartDate: domain.SampleDay("2002-01-01"),
		EndDate: &end, LongTermCondition: true, DeclaredGP: true,
	}
}
