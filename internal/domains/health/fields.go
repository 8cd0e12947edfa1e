package health

import "github.com/passerelle-bus/passerelle/internal/domain"

func record(r any) *Coverage { return r.(*Coverage) }

// fields are the health domain's fields of the citizen view, in published
// order: add at the end. Every one is a special category: being covered at
// all, and how, says something about a person's health.
func fields() []domain.Field {
	return []domain.Field{
		{Name: "scheme", Type: domain.Code, Class: domain.SpecialCategory, Doc: "GENERAL, AGRICULTURAL or SPECIAL insurance scheme.",
			Value: func(r any) any { return record(r).Scheme }},
		{Name: "coverage_type", Type: domain.Code, Class: domain.SpecialCategory, Doc: "BASIC, COMPLEMENTARY_SOLIDARITY (C2S) or STATE_MEDICAL_AID (AME).",
			Value: func(r any) any { return record(r).CoverageType }},
		{Name: "start_date", Type: domain.Date, Class: domain.SpecialCategory, Doc: "First day of the coverage.",
			Value: func(r any) any { return domain.Day(record(r).StartDate) }},
		{Name: "end_date", Type: domain.Date, Class: domain.SpecialCategory, Optional: true, Doc: "Last day of the coverage; null while open.",
			Value: func(r any) any { return domain.OptionalDay(record(r).EndDate) }},
		{Name: "long_term_condition", Type: domain.Boolean, Class: domain.SpecialCategory, Doc: "Affection de longue durée (ALD).",
			Value: func(r any) any { return record(r).LongTermCondition }},
		{Name: "declared_gp", Type: domain.Boolean, Class: domain.SpecialCategory, Doc: "Whether a médecin traitant is declared.",
			Value: func(r any) any { return record(r).DeclaredGP }},
	}
}
