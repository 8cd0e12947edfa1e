package hr

import "github.com/passerelle-bus/passerelle/internal/domain"

func employment(r any) *Employment { return r.(*Employment) }

// fields are the public-service HR domain's fields of the citizen view, in
// published order: add at the end.
func fields() []domain.Field {
	return []domain.Field{
		{Name: "employer", Type: domain.Object, Class: domain.QuasiIdentifier, Keys: []string{"siret", "name"}, Doc: "The employing body: its SIRET and name.",
			Value: func(r any) any {
				e := employment(r)
				return map[string]string{"siret": e.EmployerSIRET, "name": e.EmployerName}
			}, Record: []string{"employer_siret", "employer_name"}},
		{Name: "corps", Type: domain.Text, Class: domain.Dimension, Doc: "Corps, e.g. attachés d'administration de l'État.",
			Value: func(r any) any { return employment(r).Corps }},
		{Name: "grade", Type: domain.Text, Class: domain.Dimension, Doc: "Grade within the corps.",
			Value: func(r any) any { return employment(r).Grade }},
		{Name: "category", Type: domain.Code, Class: domain.Dimension, Doc: "Catégorie A, B or C.",
			Value: func(r any) any { return employment(r).Category }},
		{Name: "status", Type: domain.Code, Class: domain.Dimension, Doc: "TENURED, TRAINEE or CONTRACT.",
			Value: func(r any) any { return employment(r).Status }},
		{Name: "start_date", Type: domain.Date, Class: domain.Dimension, Doc: "First day of the employment.",
			Value: func(r any) any { return domain.Day(employment(r).StartDate) }},
		{Name: "end_date", Type: domain.Date, Class: domain.Dimension, Optional: true, Doc: "Last day of the employment; null while it lasts.",
			Value: func(r any) any { return domain.OptionalDay(employment(r).EndDate) }},
		{Name: "working_time", Type: domain.Integer, Class: domain.Measure, Doc: "Quotité de travail, in percent.",
			Value: func(r any) any { return employment(r).WorkingTimePercent }, Record: []string{"working_time_percent"}},
		{Name: "gross_monthly_pay", Type: domain.Money, Class: domain.Measure, Doc: "Traitement brut mensuel.",
			Value: func(r any) any { return domain.Cents(employment(r).GrossMonthlyPayCents) }, Record: []string{"gross_monthly_pay_cents"}},
	}
}
