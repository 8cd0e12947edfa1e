package synth

import (
	"math/rand/v2"
	"strings"
)

// CoverageRow is one Patient and its Coverage in the insurer's FHIR
// bundles.
type CoverageRow struct {
	ID           string // Coverage id, "c-<n>": the source key
	PatientID    string // "p-<n>", the same n
	NIR          string
	Scheme       string // GENERAL, AGRICULTURAL or SPECIAL (class "plan")
	CoverageType string // BASIC, COMPLEMENTARY_SOLIDARITY or STATE_MEDICAL_AID
	StartDate    string // YYYY-MM-DD; "" leaves period.start out
	EndDate      string // "" leaves period.end out
	Payor        string // e.g. "CPAM 75"
	LongTerm     bool   // long-term condition (ALD)
	DeclaredGP   bool   // a médecin traitant is declared
	Defect       Defect
}

// coverageRows covers every living citizen, in citizen order. Children
// share the scheme of their household's declarant; solidarity cover goes
// to low incomes, state medical aid to low-income foreigners.
func (g *gen) coverageRows() []CoverageRow {
	r := g.rand(streamHealth)
	rows := make([]CoverageRow, 0, len(g.people))
	scheme := map[int]string{} // household → declarant's scheme
	for i := range g.people {
		p := &g.people[i]
		if !p.Alive() {
			continue
		}
		h := &g.households[p.hh]
		age := p.Age(g.asOf)
		row := CoverageRow{NIR: p.NIR, CoverageType: "BASIC", DeclaredGP: chance(r, 0.85)}
		row.Scheme = scheme[p.hh]
		if row.Scheme == "" {
			row.Scheme = []string{"GENERAL", "AGRICULTURAL", "SPECIAL"}[weighted(r, []int{88, 6, 6})]
			scheme[p.hh] = row.Scheme
		}
		row.Payor = g.payor(r, p, row.Scheme)
		low := g.perPartIncome(h) < 10000_00
		switch {
		case low && p.Nationality != "FR" && chance(r, 0.3):
			row.CoverageType = "STATE_MEDICAL_AID"
		case low && chance(r, 0.45):
			row.CoverageType = "COMPLEMENTARY_SOLIDARITY"
		}
		if row.CoverageType == "BASIC" {
			from := p.BirthDate
			if age >= 18 { // rights last reopened: a move, a job, a scheme change
				from = latest(p.BirthDate.AddDate(18, 0, 0), g.asOf.AddDate(-25, 0, 0))
			}
			row.StartDate = ymd(dateBetween(r, from, g.asOf.AddDate(0, -1, 0)))
		} else { // granted for a year at a time
			start := dateBetween(r, g.asOf.AddDate(-1, 0, 1), g.asOf.AddDate(0, 0, -1))
			row.StartDate, row.EndDate = ymd(start), ymd(start.AddDate(1, 0, -1))
		}
		ltc := []float64{0.03, 0.07, 0.17, 0.35}[min(age/18, 1)+min(age/45, 1)+min(age/65, 1)]
		row.LongTerm = chance(r, ltc)
		rows = append(rows, row)
	}
	return rows
}

// payor is the fund paying p's health insurance.
func (g *gen) payor(r *rand.Rand, p *person, scheme string) string {
	dept := deptOf(p.Address.CommuneCode)
	switch {
	case scheme == "AGRICULTURAL":
		return "MSA " + dept
	case scheme == "SPECIAL":
		return pick(r, g.t.special)
	case strings.HasPrefix(dept, "97"): // overseas, the CGSS is the CPAM
		return g.pensionFund(p)
	}
	return "CPAM " + dept
}
