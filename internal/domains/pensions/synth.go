package pensions

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/passerelle-bus/passerelle/internal/synth"
)

// The pension fund's table as the synthetic population fills it: one
// entitlement for each citizen who retired, consistent with the rest of
// the population — retired between 62 and 67, the amount paid being the
// income the tax office assessed, ended at death.

// row is one row of pension_entitlement. Dates are text, as the table
// holds them; "" is NULL for the optional ones.
type row struct {
	ID          int64
	NIR         string
	Scheme      string
	StartDate   string
	Quarters    int64
	Rate        string
	Gross, Net  int64
	LastPayment string
	Status      string
	EndDate     string
	UpdatedAt   time.Time
	Defect      synth.Defect
}

const (
	fullRateQuarters = 172 // for people born from 1965
	payDay           = 9   // the general scheme pays on the 9th
	minimumNet       = 600_00
)

// netShare is what is left of a gross pension after CSG, CRDS and CASA:
// about 9.1 %.
const netShare = 0.909

func source(p *synth.Population) synth.Source {
	r := p.Rand("pensions")
	rows := entitlements(p, r)
	rows = synth.Mix(r, rows, synth.DefectCount(len(rows), p.DefectRate), func(*row) row { return defective(p, r) })
	m := synth.Manifest{Valid: make([]synth.ManifestEntry, 0, len(rows))}
	start := p.AsOf.AddDate(0, 0, -30).Add(4 * time.Hour) // updated over the last month, in id order
	for i := range rows {
		rows[i].ID = int64(i + 1)
		rows[i].UpdatedAt = synth.Spread(start, 29*24*time.Hour, i, len(rows))
		m.Add(strconv.FormatInt(rows[i].ID, 10), rows[i].NIR, rows[i].Defect)
	}
	return synth.Source{Manifest: m, Table: &synth.Table{Name: Table.Table, Columns: columns, Rows: len(rows),
		Row: func(args []any, i int) []any {
			r := &rows[i]
			return append(args, r.ID, r.NIR, r.Scheme, r.StartDate, r.Quarters, r.Rate, r.Gross, r.Net,
				null(r.LastPayment), r.Status, null(r.EndDate), synth.RFC3339(r.UpdatedAt))
		}}}
}

var columns = [][2]string{
	{"nir", "TEXT NOT NULL"}, {"scheme", "TEXT NOT NULL"}, {"start_date", "TEXT NOT NULL"},
	{"quarters", "INTEGER NOT NULL"}, {"rate", "TEXT NOT NULL"}, {"monthly_gross_cents", "BIGINT NOT NULL"},
	{"monthly_net_cents", "BIGINT NOT NULL"}, {"last_payment_date", "TEXT NULL"}, {"status", "TEXT NOT NULL"},
	{"end_date", "TEXT NULL"}, {"updated_at", "TEXT NOT NULL"},
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// retirementAges weighs the age at which people claim their pension: most
// at the legal age, some later for a full rate, a tenth at 67 when the
// full rate comes whatever the quarters.
var retirementAges = []struct{ age, weight int }{{62, 50}, {63, 15}, {64, 12}, {65, 8}, {66, 5}, {67, 10}}

// entitlements gives each citizen who retired, in citizen order, the
// entitlement the fund pays or paid them.
func entitlements(p *synth.Population, r *rand.Rand) []row {
	var out []row
	for i := range p.Citizens {
		c := &p.Citizens[i]
		age := retirementAge(r)
		// Due from the first day of the month after the birthday.
		b := c.BirthDate.AddDate(age, 0, 0)
		start := time.Date(b.Year(), b.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		switch {
		case start.After(p.AsOf): // not retired yet
			continue
		case !c.Alive() && c.DeathDate.Before(start): // died before retiring
			continue
		case r.Float64() < 0.05: // a whole career in another scheme
			continue
		}
		e := row{NIR: c.NIR, Scheme: "GENERAL", StartDate: day(start), Status: "PAID"}
		if r.Float64() < 0.06 {
			e.Scheme = "SELF_EMPLOYED"
		}
		e.Quarters = int64(min(max(math.Round(158+14*r.NormFloat64()), 80), 200))
		e.Rate = "REDUCED"
		if e.Quarters >= fullRateQuarters || age >= 67 {
			e.Rate = "FULL"
		}
		// What the tax office assessed for a living retiree is this
		// pension (the benefits payer's ledger pays the same); the dead
		// left no assessment, so theirs is drawn alike.
		net := c.Income / 12
		if !c.Alive() {
			net = int64(19000*math.Exp(0.4*r.NormFloat64())) * 100 / 12
		}
		e.Net = max(net, minimumNet)
		e.Gross = int64(math.Round(float64(e.Net) / netShare))
		last := lastPayDay(p.AsOf)
		switch {
		case !c.Alive():
			e.Status, e.EndDate = "ENDED", day(c.DeathDate)
			last = lastPayDay(c.DeathDate)
		case r.Float64() < 0.03: // a life certificate missing from abroad
			e.Status = "SUSPENDED"
			last = last.AddDate(0, -1-r.IntN(6), 0)
		}
		if !last.Before(start) {
			e.LastPayment = day(last)
		}
		out = append(out, e)
	}
	return out
}

func retirementAge(r *rand.Rand) int {
	n := r.IntN(100)
	for _, a := range retirementAges {
		if n < a.weight {
			return a.age
		}
		n -= a.weight
	}
	return 62
}

// lastPayDay is the latest pay day on or before t.
func lastPayDay(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), payDay, 0, 0, 0, 0, time.UTC)
	if t.Day() < payDay {
		d = d.AddDate(0, -1, 0)
	}
	return d
}

// defective is a row of a stranger, with one defect.
func defective(p *synth.Population, r *rand.Rand) row {
	start := p.AsOf.AddDate(-1-r.IntN(10), -r.IntN(12), 0)
	start = time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	e := row{NIR: p.Stranger(r), Scheme: "GENERAL", StartDate: day(start), Quarters: 160, Rate: "REDUCED",
		Net: 1200_00, Gross: 1320_13, LastPayment: day(lastPayDay(p.AsOf)), Status: "PAID"}
	kinds := []synth.DefectKind{synth.DefectNIRKey, synth.DefectNIRFormat, synth.DefectNegativeAmount,
		synth.DefectEndBeforeStart, synth.DefectUnknownEnum, synth.DefectMissingField, synth.DefectBadDate}
	k := kinds[r.IntN(len(kinds))]
	e.Defect = synth.Defect{Kind: k}
	switch k {
	case synth.DefectNIRKey, synth.DefectNIRFormat:
		e.NIR, e.Defect.Field = synth.NIRDefect(r, k, e.NIR), "nir"
	case synth.DefectNegativeAmount:
		e.Gross, e.Defect.Field = -e.Gross, "monthly_gross_cents"
	case synth.DefectEndBeforeStart:
		e.Status, e.EndDate, e.Defect.Field = "ENDED", day(start.AddDate(0, 0, -1-r.IntN(300))), "end_date"
	case synth.DefectUnknownEnum:
		e.Rate, e.Defect.Field = "PARTIAL", "rate"
	case synth.DefectMissingField:
		e.StartDate, e.Defect.Field = "", "start_date"
	case synth.DefectBadDate:
		e.StartDate, e.Defect.Field = synth.BadDate(r), "start_date"
	}
	return e
}

func day(t time.Time) string { return t.Format(time.DateOnly) }
