package synth

import (
	"math/rand/v2"
	"time"
)

// Each builder makes a row that is valid but for one defect of the given
// kind, for a ghost (someone who is no citizen).

func (g *gen) taxDefect(r *rand.Rand, kind DefectKind) TaxRow {
	p := g.ghost(r)
	earnings := g.income(r, &p)
	a := assess(r, earnings, 1, 0)
	row := TaxRow{NIR: p.NIR, TaxYear: TaxYear, HouseholdID: g.fiscalID(r), Role: declarant, Shares: a.shares,
		ReferenceIncomeCents: a.reference, TaxableIncomeCents: a.taxable, TaxDueCents: a.due,
		CommuneCode: p.Address.CommuneCode, WithholdingRateBP: a.withholding}
	row.Defect = Defect{Kind: kind}
	switch kind {
	case DefectNIRKey, DefectNIRFormat:
		row.NIR, row.Defect.Field = nirDefect(r, kind, row.NIR), "nir"
	case DefectNegativeAmount:
		row.TaxDueCents, row.Defect.Field = -between(r, 100, 500000), "tax_due_cents"
	case DefectCommune:
		row.CommuneCode, row.Defect.Field = badCommune(r), "commune_code"
	case DefectUnknownEnum:
		row.Role, row.Defect.Field = pick(r, []string{"LODGER", "TENANT", "declarant"}), "role"
	case DefectMissingField:
		row.HouseholdID, row.Defect.Field = "", "household_id"
	}
	return row
}

func (g *gen) hrDefect(r *rand.Rand, kind DefectKind) EmploymentRow {
	p := g.ghost(r)
	row := g.job(r, &p)
	row.Defect = Defect{Kind: kind}
	switch kind {
	case DefectNIRKey, DefectNIRFormat:
		row.NIR, row.Defect.Field = nirDefect(r, kind, row.NIR), "nir"
	case DefectNegativeAmount:
		row.GrossMonthlyPayCents, row.Defect.Field = -row.GrossMonthlyPayCents, "gross_monthly_pay_cents"
	case DefectEndBeforeStart:
		row.EndDate, row.Defect.Field = before(r, row.StartDate), "end_date"
	case DefectUnknownEnum:
		if chance(r, 0.5) {
			row.Category, row.Defect.Field = pick(r, []string{"D", "a"}), "category"
		} else {
			row.Status, row.Defect.Field = pick(r, []string{"INTERN", "RETIRED"}), "status"
		}
	case DefectMissingField:
		row.EmployerName, row.Defect.Field = "", "employer_name"
	case DefectBadDate:
		row.StartDate, row.EndDate, row.Defect.Field = badDate(r), "", "start_date"
	}
	return row
}

func (g *gen) financeDefect(r *rand.Rand, kind DefectKind) PaymentRow {
	p := g.ghost(r)
	row, _ := g.payment(r, &p, pick(r, []string{"HOUSING_AID", "MINIMUM_INCOME", "DISABILITY_ALLOWANCE", "OTHER"}), 0)
	row.Defect = Defect{Kind: kind}
	switch kind {
	case DefectNIRKey, DefectNIRFormat:
		row.NIR, row.Defect.Field = nirDefect(r, kind, row.NIR), "nir"
	case DefectNegativeAmount:
		row.AmountCents, row.Defect.Field = -max(row.AmountCents, 1), "amount_cents"
	case DefectEndBeforeStart: // start and end swapped
		row.PeriodStart, row.PeriodEnd, row.Defect.Field = row.PeriodEnd, row.PeriodStart, "period_end"
	case DefectUnknownEnum:
		if chance(r, 0.5) {
			row.Benefit, row.Defect.Field = pick(r, []string{"LOTTERY", "pension"}), "benefit"
		} else {
			row.Status, row.Defect.Field = pick(r, []string{"LOST", "REFUNDED"}), "status"
		}
	case DefectMissingField:
		row.Payer, row.Defect.Field = "", "payer"
	case DefectBadDate:
		row.PaymentDate, row.Defect.Field = badDate(r), "payment_date"
	}
	return row
}

func (g *gen) healthDefect(r *rand.Rand, kind DefectKind) CoverageRow {
	p := g.ghost(r)
	row := CoverageRow{NIR: p.NIR, Scheme: "GENERAL", CoverageType: "BASIC", Payor: g.payor(r, &p, "GENERAL"),
		StartDate: ymd(dateBetween(r, g.asOf.AddDate(-5, 0, 0), g.asOf.AddDate(0, -1, 0))), DeclaredGP: chance(r, 0.85)}
	row.Defect = Defect{Kind: kind}
	switch kind {
	case DefectNIRKey, DefectNIRFormat:
		row.NIR, row.Defect.Field = nirDefect(r, kind, row.NIR), "beneficiary.identifier"
	case DefectEndBeforeStart:
		row.EndDate, row.Defect.Field = before(r, row.StartDate), "period.end"
	case DefectUnknownEnum:
		if chance(r, 0.5) {
			row.CoverageType, row.Defect.Field = pick(r, []string{"PREMIUM", "basic"}), "type.coding.code"
		} else {
			row.Scheme, row.Defect.Field = pick(r, []string{"PRIVATE", "MILITARY"}), "class[plan].value"
		}
	case DefectMissingField:
		row.StartDate, row.Defect.Field = "", "period.start"
	case DefectBadDate:
		row.StartDate, row.Defect.Field = badDate(r), "period.start"
	}
	return row
}

// civilDefect is the registration of a newborn recorded at `at`, or of a
// death for the end-before-start kind (died before being born).
func (g *gen) civilDefect(r *rand.Rand, kind DefectKind, at time.Time) CivilEvent {
	birth := midnight(at).AddDate(0, 0, -1-r.IntN(10))
	p := g.born(r, pick(r, []string{"F", "M"}), birth, false, -1, 0)
	s := PersonState{NIR: p.NIR, FamilyName: p.FamilyName, GivenNames: p.GivenNames, Sex: p.Sex,
		BirthDate: ymd(p.BirthDate), BirthCommune: p.BirthCommune, BirthCountry: "FR", Nationality: "FR",
		MaritalStatus: single, Address: p.birthAddr}
	ev := CivilEvent{Type: EventBirth, RecordedAt: at, Version: 1, Defect: Defect{Kind: kind}}
	switch kind {
	case DefectNIRKey, DefectNIRFormat:
		s.NIR, ev.Defect.Field = nirDefect(r, kind, s.NIR), "person.nir"
	case DefectEndBeforeStart:
		ev.Type = EventDeath
		s.DeathDate, ev.Defect.Field = before(r, s.BirthDate), "person.death_date"
	case DefectCommune:
		a := *s.Address
		a.CommuneCode, ev.Defect.Field = badCommune(r), "person.address.commune_code"
		s.Address = &a
	case DefectUnknownEnum:
		s.MaritalStatus, ev.Defect.Field = pick(r, []string{"ENGAGED", "single"}), "person.marital_status"
	case DefectMissingField:
		s.FamilyName, ev.Defect.Field = "", "person.family_name"
	case DefectBadDate:
		s.BirthDate, ev.Defect.Field = badDate(r), "person.birth_date"
	}
	ev.Person = s
	return ev
}
