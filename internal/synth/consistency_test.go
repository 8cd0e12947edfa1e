package synth

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

// TestConsistency checks that the domains tell one story about one
// population; defective rows, which belong to no citizen, are skipped.
func TestConsistency(t *testing.T) {
	p := Generate(20000, 99, Options{})
	byNIR := map[string]*Citizen{}
	for i := range p.Citizens {
		byNIR[p.Citizens[i].NIR] = &p.Citizens[i]
	}
	age := func(nir string) int { return byNIR[nir].Age(p.AsOf) }
	taxOf := map[string]TaxRow{}
	households := map[string][]TaxRow{}
	for _, r := range p.Tax {
		if r.Defect.Kind == "" {
			taxOf[r.NIR] = r
			households[r.HouseholdID] = append(households[r.HouseholdID], r)
		}
	}

	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"citizens have valid, unique NIRs matching their birth", func(t *testing.T) {
			if len(byNIR) != len(p.Citizens) {
				t.Errorf("%d NIRs for %d citizens", len(byNIR), len(p.Citizens))
			}
			var corsica, abroad, dead int
			for _, c := range p.Citizens {
				if err := pseudo.ValidateNIR(c.NIR); err != nil {
					t.Fatalf("NIR %s: %v", c.NIR, err)
				}
				sex := map[string]byte{"M": '1', "F": '2'}[c.Sex]
				head := fmt.Sprintf("%c%02d%02d", sex, c.BirthDate.Year()%100, int(c.BirthDate.Month()))
				if c.NIR[:5] != head {
					t.Errorf("NIR %s for a %s born %s", c.NIR, c.Sex, ymd(c.BirthDate))
				}
				switch {
				case c.BirthCommune == "":
					abroad++
					if c.NIR[5:7] != "99" || c.BirthCountry == "FR" || c.BirthCountry == "" {
						t.Errorf("NIR %s: born abroad in %q", c.NIR, c.BirthCountry)
					}
				case c.NIR[5:10] != c.BirthCommune || c.BirthCountry != "FR":
					t.Errorf("NIR %s: born in %s, %s", c.NIR, c.BirthCommune, c.BirthCountry)
				case c.NIR[5:7] == "2A" || c.NIR[5:7] == "2B":
					corsica++
				}
				if !c.Alive() {
					dead++
					if !c.DeathDate.After(c.BirthDate) || !c.DeathDate.Before(p.AsOf) {
						t.Errorf("NIR %s: born %s, died %s", c.NIR, ymd(c.BirthDate), ymd(c.DeathDate))
					}
				}
				if n := len(c.GivenNames); n < 1 || n > 3 || c.FamilyName == "" {
					t.Errorf("NIR %s: names %q %q", c.NIR, c.FamilyName, c.GivenNames)
				}
			}
			if corsica == 0 || abroad == 0 || dead == 0 {
				t.Errorf("born in Corsica %d, abroad %d, dead %d: want some of each", corsica, abroad, dead)
			}
		}},
		{"everyone alive is in one tax household, adults as declarants", func(t *testing.T) {
			for _, c := range p.Citizens {
				r, ok := taxOf[c.NIR]
				switch {
				case c.Alive() != ok:
					t.Errorf("NIR %s: alive %v, in a household %v", c.NIR, c.Alive(), ok)
				case ok && (c.Age(p.AsOf) >= 18) == (r.Role == dependant):
					t.Errorf("NIR %s: %d years old, %s", c.NIR, c.Age(p.AsOf), r.Role)
				case ok && r.CommuneCode != c.Address.CommuneCode:
					t.Errorf("NIR %s: taxed in %s, lives in %s", c.NIR, r.CommuneCode, c.Address.CommuneCode)
				}
			}
		}},
		{"households: one declarant, parts by the rule, sane amounts", func(t *testing.T) {
			for id, rows := range households {
				roles := map[string]int{}
				for _, r := range rows {
					roles[r.Role]++
					if r != withRole(rows[0], r) {
						t.Fatalf("household %s: members disagree: %+v vs %+v", id, r, rows[0])
					}
				}
				if roles[declarant] != 1 || roles[coDeclarant] > 1 {
					t.Errorf("household %s: roles %v", id, roles)
				}
				if roles[coDeclarant] == 1 {
					d, c := byNIR[rows[0].NIR], byNIR[rows[1].NIR]
					if d.MaritalStatus != c.MaritalStatus || (d.MaritalStatus != married && d.MaritalStatus != civilPartnership) {
						t.Errorf("household %s: a couple %s and %s", id, d.MaritalStatus, c.MaritalStatus)
					}
				}
				r := rows[0]
				kids := roles[dependant]
				parts := 100*(1+roles[coDeclarant]) + 50*min(kids, 2) + 100*max(kids-2, 0)
				if want := fmt.Sprintf("%d.%02d", parts/100, parts%100); r.Shares != want || r.Dependants != kids {
					t.Errorf("household %s: shares %s, dependants %d for roles %v", id, r.Shares, r.Dependants, roles)
				}
				if r.TaxableIncomeCents > r.ReferenceIncomeCents || r.TaxDueCents < 0 || r.TaxableIncomeCents < 0 {
					t.Errorf("household %s: taxable %d, reference %d, due %d", id, r.TaxableIncomeCents, r.ReferenceIncomeCents, r.TaxDueCents)
				}
				if w := r.WithholdingRateBP; w != nil && (*w < 0 || *w > 4300) {
					t.Errorf("household %s: withholding %d", id, *w)
				}
				if len(r.HouseholdID) != 13 {
					t.Errorf("household id %q", r.HouseholdID)
				}
			}
		}},
		{"public servants are living working-age adults, paid by category", func(t *testing.T) {
			pay := map[string][]int64{}
			for _, r := range p.HR {
				if r.Defect.Kind != "" {
					continue
				}
				c := byNIR[r.NIR]
				if c == nil || !c.Alive() || age(r.NIR) < 18 || age(r.NIR) > 64 {
					t.Errorf("employee %s is not a living working-age citizen", r.NIR)
					continue
				}
				start, _ := time.Parse(time.DateOnly, r.StartDate)
				if start.Before(c.BirthDate.AddDate(18, 0, 0)) || !start.Before(p.AsOf) {
					t.Errorf("employee %s born %s started %s", r.NIR, ymd(c.BirthDate), r.StartDate)
				}
				if r.EndDate != "" && r.EndDate < r.StartDate {
					t.Errorf("employee %s: %s to %s", r.NIR, r.StartDate, r.EndDate)
				}
				full := r.GrossMonthlyPayCents * 100 / int64(r.WorkingTimePercent)
				if full < 180000 || full > 800000 {
					t.Errorf("employee %s: full-time pay %d cents", r.NIR, full)
				}
				pay[r.Category] = append(pay[r.Category], full)
				if len(r.EmployerSIRET) != 14 || luhnDigit(r.EmployerSIRET[:13]) != int(r.EmployerSIRET[13]-'0') {
					t.Errorf("SIRET %s fails its check digit", r.EmployerSIRET)
				}
			}
			if a, b, c := mean(pay["A"]), mean(pay["B"]), mean(pay["C"]); !(a > b && b > c) {
				t.Errorf("mean pay A %d, B %d, C %d", a, b, c)
			}
			share := float64(len(p.Manifest[DomainHR].Valid)) / float64(countAdults(p, 18, 64))
			if share < 0.15 || share > 0.21 {
				t.Errorf("%.3f of working-age adults are public servants, want about %.2f", share, publicServiceShare)
			}
		}},
		{"tax and payroll rows are updated in id order, before asOf", func(t *testing.T) {
			var prev time.Time
			for _, r := range p.Tax {
				if r.UpdatedAt.Before(prev) || !r.UpdatedAt.Before(p.AsOf) || r.UpdatedAt.Year() != asOfYear {
					t.Fatalf("tax row %d updated %s after %s", r.ID, r.UpdatedAt, prev)
				}
				prev = r.UpdatedAt
			}
			prev = time.Time{}
			for _, r := range p.HR {
				if r.UpdatedAt.Before(prev) || !r.UpdatedAt.Before(p.AsOf) || r.Defect.Kind == "" && ymd(r.UpdatedAt) < r.StartDate {
					t.Fatalf("hr row %d (start %s) updated %s after %s", r.ID, r.StartDate, r.UpdatedAt, prev)
				}
				prev = r.UpdatedAt
			}
		}},
		{"public servants' pay is in their household's income", func(t *testing.T) {
			for _, r := range p.HR {
				if r.Defect.Kind != "" {
					continue
				}
				if min := r.GrossMonthlyPayCents * 12 * 78 / 100 * 9 / 10; taxOf[r.NIR].TaxableIncomeCents < min-300 { // rounded to euros twice
					t.Errorf("employee %s: household taxable income %d below their pay's %d", r.NIR, taxOf[r.NIR].TaxableIncomeCents, min)
				}
			}
		}},
		{"at most one payment a citizen, pensions from 62, family allowances to parents", func(t *testing.T) {
			seen := map[string]bool{}
			for _, r := range p.Payments {
				if r.Defect.Kind != "" {
					continue
				}
				c := byNIR[r.NIR]
				switch {
				case c == nil || !c.Alive():
					t.Errorf("payment %s to no living citizen", r.PaymentID)
				case seen[r.NIR]:
					t.Errorf("second payment %s to %s", r.PaymentID, r.NIR)
				case r.Benefit == "PENSION" && age(r.NIR) < pensionAge:
					t.Errorf("payment %s: pension at %d", r.PaymentID, age(r.NIR))
				case r.Benefit == "FAMILY_ALLOWANCE" && (taxOf[r.NIR].Role != declarant || taxOf[r.NIR].Dependants == 0):
					t.Errorf("payment %s: family allowance to a %s of %d dependants", r.PaymentID, taxOf[r.NIR].Role, taxOf[r.NIR].Dependants)
				case r.AmountCents < 0 || r.PeriodEnd < r.PeriodStart || r.PaymentDate < r.PeriodStart:
					t.Errorf("payment %+v", r)
				}
				seen[r.NIR] = true
			}
			if share := float64(len(seen)) / float64(len(p.Citizens)); share < 0.25 || share > 0.36 {
				t.Errorf("%.3f of citizens have a payment, want about 0.30", share)
			}
		}},
		{"one coverage for each living citizen", func(t *testing.T) {
			covered := map[string]int{}
			var ltc, gp int
			for _, r := range p.Coverages {
				if r.Defect.Kind != "" {
					continue
				}
				covered[r.NIR]++
				if r.LongTerm {
					ltc++
				}
				if r.DeclaredGP {
					gp++
				}
				if r.EndDate != "" && r.EndDate < r.StartDate {
					t.Errorf("coverage %s: %s to %s", r.ID, r.StartDate, r.EndDate)
				}
			}
			for _, c := range p.Citizens {
				if want := map[bool]int{true: 1}[c.Alive()]; covered[c.NIR] != want {
					t.Errorf("NIR %s (alive %v): %d coverages", c.NIR, c.Alive(), covered[c.NIR])
				}
			}
			n := float64(len(covered))
			if l, g := float64(ltc)/n, float64(gp)/n; l < 0.10 || l > 0.20 || g < 0.80 || g > 0.90 {
				t.Errorf("long-term conditions %.3f, declared GP %.3f", l, g)
			}
		}},
		{"civil status: each person's versions in order, ending in their state", func(t *testing.T) {
			last := map[string]CivilEvent{}
			var prev time.Time
			for _, e := range p.Events {
				if e.RecordedAt.Before(prev) {
					t.Fatalf("event %s recorded %s after one of %s", e.ID, e.RecordedAt, prev)
				}
				prev = e.RecordedAt
				if e.Defect.Kind != "" {
					continue
				}
				before, seen := last[e.Person.NIR]
				switch {
				case !seen && (e.Version != 1 || e.Type != EventBirth):
					t.Errorf("event %s: first event of %s is %s v%d", e.ID, e.Person.NIR, e.Type, e.Version)
				case seen && (e.Version != before.Version+1 || !e.RecordedAt.After(before.RecordedAt) || before.Type == EventDeath):
					t.Errorf("event %s: %s v%d after %s v%d", e.ID, e.Type, e.Version, before.Type, before.Version)
				case e.RecordedAt.After(p.AsOf):
					t.Errorf("event %s recorded %s, after asOf", e.ID, e.RecordedAt)
				}
				last[e.Person.NIR] = e
			}
			for _, c := range p.Citizens {
				e := last[c.NIR]
				if want := stateOf(&c); !reflect.DeepEqual(e.Person, want) {
					t.Errorf("NIR %s: last event %s\n got %+v\nwant %+v", c.NIR, e.ID, e.Person, want)
				}
				if (e.Type == EventDeath) == c.Alive() {
					t.Errorf("NIR %s: last event %s, alive %v", c.NIR, e.Type, c.Alive())
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

// withRole is a household row with another member's NIR and role, to
// compare the household's figures.
func withRole(r, other TaxRow) TaxRow {
	r.NIR, r.Role, r.ID, r.UpdatedAt, r.WithholdingRateBP = other.NIR, other.Role, other.ID, other.UpdatedAt, other.WithholdingRateBP
	return r
}

func stateOf(c *Citizen) PersonState {
	a := c.Address
	s := PersonState{NIR: c.NIR, FamilyName: c.FamilyName, UsageName: c.UsageName, GivenNames: c.GivenNames,
		Sex: c.Sex, BirthDate: ymd(c.BirthDate), BirthCommune: c.BirthCommune, BirthCountry: c.BirthCountry,
		Nationality: c.Nationality, MaritalStatus: c.MaritalStatus, Address: &a}
	if !c.Alive() {
		s.DeathDate = ymd(c.DeathDate)
	}
	return s
}

func mean(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s / max(int64(len(xs)), 1)
}

func countAdults(p *Population, lo, hi int) int {
	n := 0
	for i := range p.Citizens {
		if a := p.Citizens[i].Age(p.AsOf); p.Citizens[i].Alive() && a >= lo && a <= hi {
			n++
		}
	}
	return n
}
