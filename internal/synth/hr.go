package synth

import (
	"math/rand/v2"
	"time"
)

// EmploymentRow is one row of the payroll's employment table. Dates are
// text, as the table holds them, so a defective row can hold a bad one.
type EmploymentRow struct {
	ID                   int64 // the id column: 1..n in a fresh table
	NIR                  string
	EmployerSIRET        string
	EmployerName         string
	Corps                string
	Grade                string
	Category             string // A, B or C
	Status               string // TENURED, TRAINEE or CONTRACT
	StartDate            string // YYYY-MM-DD
	EndDate              string // "" is NULL
	WorkingTimePercent   int
	GrossMonthlyPayCents int64
	UpdatedAt            time.Time
	Defect               Defect
}

// publicServiceShare of working-age adults (19 to 64) work in the public
// service.
const publicServiceShare = 0.18

// employmentRows gives a public-service job to some working-age adults,
// in citizen order, and records it on the person for their income.
func (g *gen) employmentRows() []EmploymentRow {
	r := g.rand(streamHR)
	var rows []EmploymentRow
	for i := range g.people {
		p := &g.people[i]
		if age := p.Age(g.asOf); !p.Alive() || age < 19 || age > 64 || !chance(r, publicServiceShare) {
			continue
		}
		row := g.job(r, p)
		p.pay = row.GrossMonthlyPayCents
		rows = append(rows, row)
	}
	return rows
}

// job draws an employer near p's home, a grade, and a pay that grows with
// seniority within the grade's range.
func (g *gen) job(r *rand.Rand, p *person) EmploymentRow {
	kind := []string{"E", "T", "H"}[weighted(r, []int{45, 35, 20})]
	dept := deptOf(p.Address.CommuneCode)
	var near, state []employer
	for _, e := range g.t.employers {
		switch {
		case e.kind == kind && e.dept == dept:
			near = append(near, e)
		case e.kind == "E" && e.dept == "":
			state = append(state, e)
		}
	}
	if len(near) == 0 { // no local authority or hospital listed here: a ministry
		near, kind = state, "E"
	}
	emp := pick(r, near)
	var gs []grade
	var weights []int
	for _, gr := range g.t.grades {
		if gr.kind == kind {
			gs, weights = append(gs, gr), append(weights, gr.weight)
		}
	}
	gr := gs[weighted(r, weights)]

	row := EmploymentRow{NIR: p.NIR, EmployerSIRET: emp.siret, EmployerName: emp.name,
		Corps: gr.corps, Grade: gr.grade, Category: gr.category}
	// Starts a month before asOf at the latest, so updated_at follows it.
	last := g.asOf.AddDate(0, -1, 0)
	adult := p.BirthDate.AddDate(18, 0, 1)
	var start time.Time
	switch u := r.Float64(); {
	case u < 0.75:
		row.Status = "TENURED"
		start = dateBetween(r, latest(adult.AddDate(2, 0, 0), g.asOf.AddDate(-42, 0, 0)), last)
	case u < 0.95:
		row.Status = "CONTRACT"
		start = dateBetween(r, latest(adult, g.asOf.AddDate(-6, 0, 0)), last)
		if chance(r, 0.4) { // a fixed-term contract
			row.EndDate = ymd(dateBetween(r, g.asOf.AddDate(0, 1, 0), g.asOf.AddDate(2, 0, 0)))
		}
	default:
		row.Status = "TRAINEE"
		start = dateBetween(r, latest(adult, g.asOf.AddDate(-1, 0, 0)), last)
	}
	if start.After(last) { // turned 18 this month
		start = last
	}
	row.StartDate = ymd(start)
	row.WorkingTimePercent = []int{100, 80, 90, 70, 60, 50}[weighted(r, []int{80, 12, 3, 2, 2, 1})]
	seniority := min(float64(yearsBetween(start, g.asOf))/30, 1)
	full := float64(gr.minPay) + float64(gr.maxPay-gr.minPay)*seniority*(0.9+0.2*r.Float64())
	row.GrossMonthlyPayCents = int64(full * float64(row.WorkingTimePercent) / 100)
	return row
}
