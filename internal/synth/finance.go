package synth

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// PaymentRow is one line of the benefits payer's ledger: the latest
// payment to a citizen.
type PaymentRow struct {
	PaymentID   string
	NIR         string
	Benefit     string // HOUSING_AID, MINIMUM_INCOME, DISABILITY_ALLOWANCE, PENSION, FAMILY_ALLOWANCE or OTHER
	PeriodStart string // YYYY-MM-DD, first day of a month
	PeriodEnd   string // YYYY-MM-DD, last day of that month
	AmountCents int64
	Payer       string // e.g. "CAF 75", "CARSAT Sud-Est"
	PaymentDate string // YYYY-MM-DD
	Status      string // PAID, PENDING, CANCELLED or RECOVERED
	Defect      Defect
}

// pensionAge is the earliest age at which a PENSION is paid.
const pensionAge = 62

// paymentRows gives at most one payment, the latest, to about 30 % of
// citizens: pensions from 62, family allowances to households with
// children, housing aid and minimum income to low incomes. The ledger is
// in payment-date order.
func (g *gen) paymentRows() []PaymentRow {
	r := g.rand(streamFinance)
	type dated struct {
		row PaymentRow
		at  time.Time
		who int
	}
	var out []dated
	for i := range g.people {
		p := &g.people[i]
		age := p.Age(g.asOf)
		if !p.Alive() || age < 18 {
			continue
		}
		h := &g.households[p.hh]
		low := g.perPartIncome(h) < 12000_00
		var b string
		switch {
		case age >= pensionAge && chance(r, 0.6): // others are paid by funds outside this ledger
			b = "PENSION"
		case p.role == declarant && (h.children >= 2 && chance(r, 0.9) || h.children == 1 && chance(r, 0.25)):
			// family allowances start at the second child; one child may
			// still bring an allowance for a toddler or a school year
			b = "FAMILY_ALLOWANCE"
		case low && age >= 25 && chance(r, 0.3):
			b = "MINIMUM_INCOME"
		case low && chance(r, 0.4):
			b = "HOUSING_AID"
		case chance(r, 0.03):
			b = "DISABILITY_ALLOWANCE"
		case chance(r, 0.03):
			b = "OTHER"
		default:
			continue
		}
		row, at := g.payment(r, p, b, h.children)
		out = append(out, dated{row, at, i})
	}
	slices.SortStableFunc(out, func(a, b dated) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.who, b.who))
	})
	rows := make([]PaymentRow, len(out))
	for i := range out {
		rows[i] = out[i].row
	}
	return rows
}

// perPartIncome is a household's taxable income per part, in cents.
func (g *gen) perPartIncome(h *household) int64 {
	var e int64
	for _, m := range h.members {
		e += g.people[m].income
	}
	parts := int64(h.adults)*100 + int64(min(h.children, 2))*50 + int64(max(h.children-2, 0))*100
	return e * 9 / 10 * 100 / parts
}

// payment draws the latest payment of benefit b to p, for last month
// mostly, paid early this month.
func (g *gen) payment(r *rand.Rand, p *person, b string, children int) (PaymentRow, time.Time) {
	dept := deptOf(p.Address.CommuneCode)
	caf := "CAF " + dept
	row := PaymentRow{NIR: p.NIR, Benefit: b, Payer: caf, Status: "PAID"}
	thisMonth := time.Date(g.asOf.Year(), g.asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	month := thisMonth.AddDate(0, -1, 0)
	switch u := r.Float64(); {
	case u < 0.03: // this month's, not paid yet
		month, row.Status = thisMonth, "PENDING"
	case u < 0.05:
		row.Status = "CANCELLED"
	case u < 0.07:
		row.Status = "RECOVERED" // an overpayment claimed back
	case u < 0.17: // a benefit that stopped: its last payment is older
		month = month.AddDate(0, -1-r.IntN(24), 0)
	}
	payDay := 5
	switch b {
	case "PENSION":
		payDay = 9
		row.Payer = g.pensionFund(p)
		if chance(r, 0.07) {
			row.Payer = "MSA " + dept
		}
		row.AmountCents = max(p.income/12, 60000)
	case "FAMILY_ALLOWANCE":
		row.AmountCents = []int64{0, between(r, 9000, 18000), 14852, 33880}[min(children, 3)] + int64(max(children-3, 0))*19028
	case "MINIMUM_INCOME":
		row.AmountCents = between(r, 20000, 64629)
	case "HOUSING_AID":
		row.AmountCents = between(r, 3000, 45000)
	case "DISABILITY_ALLOWANCE":
		row.AmountCents = between(r, 30000, 103371)
	default:
		row.AmountCents = between(r, 2000, 30000)
		row.Payer = pick(r, []string{caf, "CPAM " + dept, "France Travail"})
	}
	paid := month.AddDate(0, 1, payDay-1)
	row.PeriodStart, row.PeriodEnd = ymd(month), ymd(month.AddDate(0, 1, -1))
	row.PaymentDate = ymd(paid)
	return row, paid
}

// pensionFund is the regional pension fund of p's home.
func (g *gen) pensionFund(p *person) string {
	for _, c := range g.t.communes {
		if c.code == p.Address.CommuneCode {
			return c.pension
		}
	}
	return "CNAV"
}
