package tax

import "github.com/passerelle-bus/passerelle/internal/domain"

func household(r any) *Household { return r.(*Household) }

// fields are the tax domain's fields of the citizen view, in published
// order: add at the end.
func fields() []domain.Field {
	return []domain.Field{
		{Name: "tax_year", Type: domain.Integer, Class: domain.Dimension, Doc: "Income year the assessment is about.",
			Value: func(r any) any { return household(r).TaxYear }},
		{Name: "household_id", Type: domain.Text, Class: domain.Identifying, Doc: "Numéro fiscal du foyer: the household's tax number.",
			Value: func(r any) any { return household(r).HouseholdID }},
		{Name: "role", Type: domain.Code, Class: domain.Dimension, Doc: "The citizen's place in the household: DECLARANT, CO_DECLARANT or DEPENDANT.",
			Value: func(r any) any { return household(r).Role }},
		{Name: "shares", Type: domain.Decimal, Class: domain.Measure, Doc: "Nombre de parts (quotient familial), e.g. \"2.50\".",
			Value: func(r any) any { return domain.Exact(household(r).Shares) }},
		{Name: "reference_income", Type: domain.Money, Class: domain.Measure, Doc: "Revenu fiscal de référence of the household.",
			Value: func(r any) any { return domain.Cents(household(r).ReferenceIncomeCents) }, Record: []string{"reference_income_cents"}},
		{Name: "taxable_income", Type: domain.Money, Class: domain.Measure, Doc: "Revenu net imposable of the household.",
			Value: func(r any) any { return domain.Cents(household(r).TaxableIncomeCents) }, Record: []string{"taxable_income_cents"}},
		{Name: "tax_due", Type: domain.Money, Class: domain.Measure, Doc: "Income tax due by the household.",
			Value: func(r any) any { return domain.Cents(household(r).TaxDueCents) }, Record: []string{"tax_due_cents"}},
		{Name: "dependants", Type: domain.Integer, Class: domain.Measure, Doc: "Personnes à charge of the household.",
			Value: func(r any) any { return household(r).Dependants }},
		{Name: "commune", Type: domain.Code, Class: domain.QuasiIdentifier, Doc: "INSEE code of the commune of taxation.",
			Value: func(r any) any { return household(r).CommuneCode }, Record: []string{"commune_code"}},
	}
}
