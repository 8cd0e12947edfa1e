package view

import (
	"math/big"
	"time"

	"github.com/passerelle-bus/passerelle/schemas"
)

// A field of the citizen view, read from its domain's record. Money stays in
// integer cents, dates are YYYY-MM-DD, decimals are strings.
var extract = map[string]func(any) any{
	"civilstatus.family_name":    func(r any) any { return r.(*schemas.Person).FamilyName },
	"civilstatus.usage_name":     func(r any) any { return r.(*schemas.Person).UsageName },
	"civilstatus.given_names":    func(r any) any { return r.(*schemas.Person).GivenNames },
	"civilstatus.sex":            func(r any) any { return r.(*schemas.Person).Sex },
	"civilstatus.birth_date":     func(r any) any { return day(r.(*schemas.Person).BirthDate) },
	"civilstatus.birth_commune":  func(r any) any { return r.(*schemas.Person).BirthCommune },
	"civilstatus.birth_country":  func(r any) any { return r.(*schemas.Person).BirthCountry },
	"civilstatus.nationality":    func(r any) any { return r.(*schemas.Person).Nationality },
	"civilstatus.marital_status": func(r any) any { return r.(*schemas.Person).MaritalStatus },
	"civilstatus.death_date":     func(r any) any { return dayPtr(r.(*schemas.Person).DeathDate) },
	"civilstatus.address":        func(r any) any { return r.(*schemas.Person).Address },
	"tax.tax_year":               func(r any) any { return r.(*schemas.Household).TaxYear },
	"tax.household_id":           func(r any) any { return r.(*schemas.Household).HouseholdID },
	"tax.role":                   func(r any) any { return r.(*schemas.Household).Role },
	"tax.shares":                 func(r any) any { return decimal(r.(*schemas.Household).Shares) },
	"tax.reference_income":       func(r any) any { return cents(r.(*schemas.Household).ReferenceIncomeCents) },
	"tax.taxable_income":         func(r any) any { return cents(r.(*schemas.Household).TaxableIncomeCents) },
	"tax.tax_due":                func(r any) any { return cents(r.(*schemas.Household).TaxDueCents) },
	"tax.dependants":             func(r any) any { return r.(*schemas.Household).Dependants },
	"tax.commune":                func(r any) any { return r.(*schemas.Household).CommuneCode },
	"hr.employer": func(r any) any {
		e := r.(*schemas.Employment)
		return map[string]string{"siret": e.EmployerSIRET, "name": e.EmployerName}
	},
	"hr.corps":             func(r any) any { return r.(*schemas.Employment).Corps },
	"hr.grade":             func(r any) any { return r.(*schemas.Employment).Grade },
	"hr.category":          func(r any) any { return r.(*schemas.Employment).Category },
	"hr.status":            func(r any) any { return r.(*schemas.Employment).Status },
	"hr.start_date":        func(r any) any { return day(r.(*schemas.Employment).StartDate) },
	"hr.end_date":          func(r any) any { return dayPtr(r.(*schemas.Employment).EndDate) },
	"hr.working_time":      func(r any) any { return r.(*schemas.Employment).WorkingTimePercent },
	"hr.gross_monthly_pay": func(r any) any { return cents(r.(*schemas.Employment).GrossMonthlyPayCents) },
	"finance.benefit":      func(r any) any { return r.(*schemas.Payment).Benefit },
	"finance.period": func(r any) any {
		p := r.(*schemas.Payment)
		return map[string]string{"start": day(p.PeriodStart), "end": day(p.PeriodEnd)}
	},
	"finance.amount":             func(r any) any { return cents(r.(*schemas.Payment).AmountCents) },
	"finance.payer":              func(r any) any { return r.(*schemas.Payment).Payer },
	"finance.payment_date":       func(r any) any { return day(r.(*schemas.Payment).PaymentDate) },
	"finance.status":             func(r any) any { return r.(*schemas.Payment).Status },
	"health.scheme":              func(r any) any { return r.(*schemas.Coverage).Scheme },
	"health.coverage_type":       func(r any) any { return r.(*schemas.Coverage).CoverageType },
	"health.start_date":          func(r any) any { return day(r.(*schemas.Coverage).StartDate) },
	"health.end_date":            func(r any) any { return dayPtr(r.(*schemas.Coverage).EndDate) },
	"health.long_term_condition": func(r any) any { return r.(*schemas.Coverage).LongTermCondition },
	"health.declared_gp":         func(r any) any { return r.(*schemas.Coverage).DeclaredGP },
}

// Field returns the value of a view field ("tax.reference_income") from a
// record of its domain.
func Field(r Record, name string) (any, bool) {
	f, ok := extract[name]
	if !ok {
		return nil, false
	}
	return f(r.Value), true
}

// Money is an amount in euro cents, labelled so no reader takes it for euros.
type Money struct {
	Cents    int64  `json:"cents"`
	Currency string `json:"currency"`
}

func cents(n int64) Money { return Money{Cents: n, Currency: "EUR"} }

func day(t time.Time) string { return t.Format(time.DateOnly) }

func dayPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return day(*t)
}

func decimal(r *big.Rat) string {
	if r == nil {
		return ""
	}
	return r.FloatString(2)
}
