package pensions

import "github.com/passerelle-bus/passerelle/internal/domain"

func entitlement(r any) *Entitlement { return r.(*Entitlement) }

// fields are the pensions domain's fields of the citizen view, in
// published order: add at the end.
func fields() []domain.Field {
	return []domain.Field{
		{Name: "scheme", Type: domain.Code, Class: domain.Dimension, Doc: "GENERAL or SELF_EMPLOYED: the scheme the pension is paid under.",
			Value: func(r any) any { return entitlement(r).Scheme }},
		{Name: "start_date", Type: domain.Date, Class: domain.Dimension, Doc: "Date d'effet: the first day the pension is due.",
			Value: func(r any) any { return domain.Day(entitlement(r).StartDate) }},
		{Name: "quarters", Type: domain.Integer, Class: domain.Measure, Doc: "Trimestres validés the pension was computed on.",
			Value: func(r any) any { return entitlement(r).Quarters }},
		{Name: "rate", Type: domain.Code, Class: domain.Dimension, Doc: "FULL (taux plein) or REDUCED (décote).",
			Value: func(r any) any { return entitlement(r).Rate }},
		{Name: "monthly_gross", Type: domain.Money, Class: domain.Measure, Doc: "Monthly gross amount of the pension.",
			Value: func(r any) any { return domain.Cents(entitlement(r).MonthlyGrossCents) }, Record: []string{"monthly_gross_cents"}},
		{Name: "monthly_net", Type: domain.Money, Class: domain.Measure, Doc: "Monthly amount paid after social contributions.",
			Value: func(r any) any { return domain.Cents(entitlement(r).MonthlyNetCents) }, Record: []string{"monthly_net_cents"}},
		{Name: "last_payment_date", Type: domain.Date, Class: domain.Dimension, Optional: true, Doc: "Day of the latest payment; null before the first.",
			Value: func(r any) any { return domain.OptionalDay(entitlement(r).LastPaymentDate) }},
		{Name: "status", Type: domain.Code, Class: domain.Dimension, Doc: "PAID, SUSPENDED or ENDED.",
			Value: func(r any) any { return entitlement(r).Status }},
		{Name: "end_date", Type: domain.Date, Class: domain.QuasiIdentifier, Optional: true, Doc: "Last day the pension was due (the holder's death); null while it runs.",
			Value: func(r any) any { return domain.OptionalDay(entitlement(r).EndDate) }},
	}
}
