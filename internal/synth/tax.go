package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// TaxRow is one row of household_assessment: a citizen's tax household.
// The household's figures repeat on each member's row.
type TaxRow struct {
	ID                   int64 // the id column: 1..n in a fresh table
	NIR                  string
	TaxYear              int
	HouseholdID          string // 13 digits
	Role                 string // DECLARANT, CO_DECLARANT or DEPENDANT
	Shares               string // parts, e.g. "2.50"
	ReferenceIncomeCents int64
	TaxableIncomeCents   int64
	TaxDueCents          int64
	Dependants           int
	CommuneCode          string
	WithholdingRateBP    *int // nil is NULL
	UpdatedAt            time.Time
	Defect               Defect
}

// assessment is what the tax office computes for one household.
type assessment struct {
	shares                  string
	parts                   int64 // hundredths
	reference, taxable, due int64 // cents
	taxableEuros, dueEuros  int64
	withholding             *int
}

// taxRows assesses every household and lists its members, household by
// household. Incomes are drawn here: public servants earn their payroll
// pay, the others a salary, a pension or little.
func (g *gen) taxRows() []TaxRow {
	r := g.rand(streamTax)
	rows := make([]TaxRow, 0, len(g.people))
	for i := range g.people {
		p := &g.people[i]
		if p.Alive() && p.Age(g.asOf) >= 18 {
			p.income = g.income(r, p)
		}
	}
	for _, h := range g.households {
		var earnings int64
		for _, m := range h.members {
			earnings += g.people[m].income
		}
		a := assess(r, earnings, h.adults, h.children)
		for _, m := range h.members {
			rows = append(rows, TaxRow{
				NIR: g.people[m].NIR, TaxYear: TaxYear, HouseholdID: h.id, Role: g.people[m].role,
				Shares: a.shares, ReferenceIncomeCents: a.reference, TaxableIncomeCents: a.taxable,
				TaxDueCents: a.due, Dependants: h.children, CommuneCode: h.addr.CommuneCode,
				WithholdingRateBP: a.withholding,
			})
		}
	}
	return rows
}

// income draws an adult's 2025 earnings in cents.
func (g *gen) income(r *rand.Rand, p *person) int64 {
	if p.pay > 0 { // a public servant: 12 months of pay, less social contributions
		return p.pay * 12 * 78 / 100
	}
	euros := func(median, spread, lo, hi float64) int64 {
		v := median * math.Exp(spread*r.NormFloat64())
		return int64(min(max(v, lo), hi)) * 100
	}
	switch age := p.Age(g.asOf); {
	case age >= 62:
		return euros(19000, 0.4, 7000, 90000)
	case chance(r, 0.78):
		return euros(26000, 0.5, 5000, 400000)
	default: // unemployed, student, carer
		return int64(r.IntN(9000)) * 100
	}
}

// assess computes parts, incomes and tax of a household from its members'
// earnings: parts are 1 per adult, 0.5 for each of the first two children
// and 1 for each further one.
func assess(r *rand.Rand, earnings int64, adults, children int) assessment {
	a := assessment{parts: int64(adults) * 100}
	for c := range children {
		if c < 2 {
			a.parts += 50
		} else {
			a.parts += 100
		}
	}
	a.shares = fmt.Sprintf("%d.%02d", a.parts/100, a.parts%100)
	a.taxableEuros = earnings / 100 * 9 / 10 // the 10 % allowance for expenses
	a.taxable = a.taxableEuros * 100
	a.reference = a.taxable
	if chance(r, 0.3) { // investment income counts in the reference income only
		a.reference += between(r, 0, a.taxable/8)
	}
	a.dueEuros = incomeTax(a.taxableEuros, a.parts)
	a.due = a.dueEuros * 100
	if earnings > 0 && !chance(r, 0.06) {
		bp := min(int(a.dueEuros*10000/max(earnings/100, 1)), 4300)
		a.withholding = &bp
	}
	return a
}

// incomeTax applies the progressive scale on 2025 incomes per part
// (quotient familial), without the cap of its benefit, the décote or any
// credit: close enough for synthetic data.
func incomeTax(taxableEuros, partsHundredths int64) int64 {
	if partsHundredths <= 0 {
		return 0
	}
	brackets := []struct{ from, rate int64 }{{0, 0}, {11600, 11}, {29579, 30}, {84577, 41}, {181917, 45}}
	q := taxableEuros * 100 / partsHundredths
	var perPart int64
	for i, b := range brackets {
		upper := int64(math.MaxInt64)
		if i+1 < len(brackets) {
			upper = brackets[i+1].from
		}
		if q > b.from {
			perPart += (min(q, upper) - b.from) * b.rate / 100
		}
	}
	return perPart * partsHundredths / 100
}
