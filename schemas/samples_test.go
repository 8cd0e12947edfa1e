package schemas_test

import (
	"math/big"
	"time"

	"github.com/passerelle-bus/passerelle/schemas"
)

func ptr[T any](v T) *T { return &v }

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func meta(domain string) schemas.Meta {
	return schemas.Meta{
		RecordID:  "rec-" + domain + "-0001",
		Subject:   "pseudo-" + domain,
		Source:    "member-" + domain,
		EventTime: time.Date(2026, 3, 14, 9, 26, 53, 589e6, time.UTC),
		Op:        schemas.OpUpsert,
	}
}

// samples has one record per subject, written with every version of it.
var samples = map[string]any{
	"passerelle.civilstatus.person.v1-value": &schemas.Person{
		Meta: meta("civilstatus"), FamilyName: "Dupont", UsageName: ptr("Martin"),
		GivenNames: []string{"Camille", "Marie"}, Sex: "F", BirthDate: day("1984-07-02"),
		BirthCommune: ptr("2A004"), BirthCountry: "FR", Nationality: "FR", MaritalStatus: "MARRIED",
		Address: &schemas.Address{CommuneCode: "75056", Postcode: "75011"},
	},
	"passerelle.tax.household.v1-value": &schemas.Household{
		Meta: meta("tax"), TaxYear: 2025, HouseholdID: "7512345678901", Role: "DECLARANT",
		Shares: big.NewRat(5, 2), ReferenceIncomeCents: 4_215_000, TaxableIncomeCents: 3_987_600,
		TaxDueCents: 231_400, Dependants: 1, CommuneCode: "75056", WithholdingRateBP: ptr(int32(580)),
	},
	"passerelle.hr.employment.v1-value": &schemas.Employment{
		Meta: meta("hr"), EmployerSIRET: "11000601200010", EmployerName: "Ministère de l'Intérieur",
		Corps: "attachés d'administration de l'État", Grade: "attaché principal", Category: "A",
		Status: "TENURED", StartDate: day("2011-09-01"), WorkingTimePercent: 80, GrossMonthlyPayCents: 392_117,
	},
	"passerelle.finance.payment.v1-value": &schemas.Payment{
		Meta: meta("finance"), PaymentID: "PAY-2026-000042", Benefit: "HOUSING_AID",
		PeriodStart: day("2026-02-01"), PeriodEnd: day("2026-02-28"), AmountCents: 23_150,
		Payer: "CAF 75", PaymentDate: day("2026-03-05"), Status: "PAID",
	},
	"passerelle.health.coverage.v1-value": &schemas.Coverage{
		Meta: meta("health"), Scheme: "GENERAL", CoverageType: "BASIC", StartDate: day("2002-01-01"),
		EndDate: ptr(day("2030-12-31")), LongTermCondition: true, DeclaredGP: true,
	},
}
