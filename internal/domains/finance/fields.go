package finance

import "github.com/passerelle-bus/passerelle/internal/domain"

func payment(r any) *Payment { return r.(*Payment) }

// fields are the benefits domain's fields of the citizen view, in
// published order: add at the end.
func fields() []domain.Field {
	return []domain.Field{
		{Name: "benefit", Type: domain.Code, Class: domain.Dimension, Doc: "HOUSING_AID, MINIMUM_INCOME, DISABILITY_ALLOWANCE, PENSION, FAMILY_ALLOWANCE or OTHER.",
			Value: func(r any) any { return payment(r).Benefit }},
		{Name: "period", Type: domain.Object, Class: domain.Dimension, Keys: []string{"start", "end"}, Doc: "The period paid: its first and last days, YYYY-MM-DD.",
			Value: func(r any) any {
				p := payment(r)
				return map[string]string{"start": domain.Day(p.PeriodStart), "end": domain.Day(p.PeriodEnd)}
			}, Record: []string{"period_start", "period_end"}},
		{Name: "amount", Type: domain.Money, Class: domain.Measure, Doc: "Amount paid, never negative.",
			Value: func(r any) any { return domain.Cents(payment(r).AmountCents) }, Record: []string{"amount_cents"}},
		{Name: "payer", Type: domain.Text, Class: domain.Dimension, Doc: "Paying organisation, e.g. CAF 75.",
			Value: func(r any) any { return payment(r).Payer }},
		{Name: "payment_date", Type: domain.Date, Class: domain.Dimension, Doc: "Day of the payment.",
			Value: func(r any) any { return domain.Day(payment(r).PaymentDate) }},
		{Name: "status", Type: domain.Code, Class: domain.Dimension, Doc: "PAID, PENDING, CANCELLED or RECOVERED.",
			Value: func(r any) any { return payment(r).Status }},
	}
}
