package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// DefectKind is what is wrong with a defective row.
type DefectKind string

// The defect kinds. Each defective row has exactly one, so a connector's
// first complaint is the one recorded.
const (
	DefectNIRKey         DefectKind = "nir-key"          // well formed, wrong key
	DefectNIRFormat      DefectKind = "nir-format"       // not a NIR's shape
	DefectNegativeAmount DefectKind = "negative-amount"  // an amount below zero
	DefectEndBeforeStart DefectKind = "end-before-start" // a period ending before it starts
	DefectCommune        DefectKind = "bad-commune"      // not an INSEE commune code
	DefectUnknownEnum    DefectKind = "unknown-enum"     // a value outside the Avro enum
	DefectMissingField   DefectKind = "missing-field"    // a required field left empty
	DefectBadDate        DefectKind = "bad-date"         // not a YYYY-MM-DD date
)

// Defect says what is wrong with a row and in which field, named as the
// source names it ("tax_due_cents", "person.family_name", "period.start").
// The zero Defect is a valid row.
type Defect struct {
	Kind  DefectKind
	Field string
}

// DefectKinds lists the kinds a domain's rows can have: those its format
// has a field for.
func DefectKinds(d Domain) []DefectKind {
	all := []DefectKind{DefectNIRKey, DefectNIRFormat}
	switch d {
	case DomainTax:
		return append(all, DefectNegativeAmount, DefectCommune, DefectUnknownEnum, DefectMissingField)
	case DomainHR, DomainFinance:
		return append(all, DefectNegativeAmount, DefectEndBeforeStart, DefectUnknownEnum, DefectMissingField, DefectBadDate)
	case DomainCivilStatus:
		return append(all, DefectEndBeforeStart, DefectCommune, DefectUnknownEnum, DefectMissingField, DefectBadDate)
	case DomainHealth:
		return append(all, DefectEndBeforeStart, DefectUnknownEnum, DefectMissingField, DefectBadDate)
	}
	return nil
}

// defectCount makes defective rows the given share of all rows written.
func defectCount(valid int, rate float64) int {
	if rate <= 0 {
		return 0
	}
	return int(math.Round(float64(valid) * rate / (1 - rate)))
}

// addDefects mixes defective rows into every domain at random positions,
// then numbers the rows. Defective rows belong to people who are not
// citizens, with NIRs no citizen has, so they never shadow a valid row.
func (g *gen) addDefects(p *Population) {
	r := g.rand(streamDefects)
	kinds := func(d Domain) func() DefectKind {
		ks := DefectKinds(d)
		r.Shuffle(len(ks), func(i, j int) { ks[i], ks[j] = ks[j], ks[i] })
		n := 0
		return func() DefectKind { n++; return ks[(n-1)%len(ks)] }
	}

	next := kinds(DomainTax)
	p.Tax = mix(r, p.Tax, defectCount(len(p.Tax), p.DefectRate), func(*TaxRow) TaxRow { return g.taxDefect(r, next()) })
	// The assessments are updated over the summer, in id order.
	start := time.Date(asOfYear, time.July, 20, 6, 0, 0, 0, time.UTC)
	for i := range p.Tax {
		p.Tax[i].ID = int64(i + 1)
		p.Tax[i].UpdatedAt = spread(start, 30*day, i, len(p.Tax))
	}

	next = kinds(DomainHR)
	p.HR = mix(r, p.HR, defectCount(len(p.HR), p.DefectRate), func(*EmploymentRow) EmploymentRow { return g.hrDefect(r, next()) })
	// The payroll is updated over the last month, after every start date.
	start = g.asOf.AddDate(0, 0, -30).Add(5 * time.Hour)
	for i := range p.HR {
		p.HR[i].ID = int64(i + 1)
		p.HR[i].UpdatedAt = spread(start, 29*day, i, len(p.HR))
	}

	next = kinds(DomainFinance)
	p.Payments = mix(r, p.Payments, defectCount(len(p.Payments), p.DefectRate), func(*PaymentRow) PaymentRow { return g.financeDefect(r, next()) })
	for i := range p.Payments {
		p.Payments[i].PaymentID = fmt.Sprintf("PAY-%08d", i+1)
	}

	next = kinds(DomainHealth)
	p.Coverages = mix(r, p.Coverages, defectCount(len(p.Coverages), p.DefectRate), func(*CoverageRow) CoverageRow { return g.healthDefect(r, next()) })
	for i := range p.Coverages {
		p.Coverages[i].ID, p.Coverages[i].PatientID = "c-"+strconv.Itoa(i+1), "p-"+strconv.Itoa(i+1)
	}

	next = kinds(DomainCivilStatus)
	first := g.asOf
	if len(p.Events) > 0 {
		first = p.Events[0].RecordedAt
	}
	p.Events = mix(r, p.Events, defectCount(len(p.Events), p.DefectRate), func(prev *CivilEvent) CivilEvent {
		at := first // recorded with its neighbours, so the stream stays in order
		if prev != nil {
			at = prev.RecordedAt
		}
		return g.civilDefect(r, next(), at)
	})
	for i := range p.Events {
		p.Events[i].ID = "EC-" + strconv.Itoa(i+1)
	}
}

// spread is the i-th of n instants spread evenly over span from start, to
// the second.
func spread(start time.Time, span time.Duration, i, n int) time.Time {
	secs := int64(span/time.Second) * int64(i) / int64(max(n, 1)) // in seconds: nanoseconds × i would overflow
	return start.Add(time.Duration(secs) * time.Second)
}

// mix returns valid with m defective rows, made by mk, at random
// positions; mk sees the row before (nil first).
func mix[T any](r *rand.Rand, valid []T, m int, mk func(prev *T) T) []T {
	n := len(valid) + m
	defective := make([]bool, n)
	for _, i := range r.Perm(n)[:m] {
		defective[i] = true
	}
	out := make([]T, 0, n)
	v := 0
	for i := range n {
		var prev *T
		if i > 0 {
			prev = &out[i-1]
		}
		if defective[i] {
			out = append(out, mk(prev))
		} else {
			out = append(out, valid[v])
			v++
		}
	}
	return out
}

// ghost is an adult who is no citizen, with a fresh NIR.
func (g *gen) ghost(r *rand.Rand) person {
	c := g.t.communes[weighted(r, g.t.communeWeights)]
	p := g.born(r, pick(r, []string{"F", "M"}), g.birthFromAge(r, 25+r.IntN(36)), false, -1, 0)
	p.Address = Address{c.code, pick(r, c.postcodes)}
	return p
}

// nirDefect spoils a NIR for the two NIR kinds.
func nirDefect(r *rand.Rand, kind DefectKind, nir string) string {
	if kind == DefectNIRKey {
		key, _ := strconv.Atoi(nir[13:])
		return fmt.Sprintf("%s%02d", nir[:13], 1+(key+r.IntN(96))%97) // 1..97, never key
	}
	switch r.IntN(6) {
	case 0:
		return nir[:14] // a digit lost
	case 1:
		return nir + strconv.Itoa(r.IntN(10)) // a digit too many
	case 2:
		return nir[:5] + "X" + nir[6:] // a letter in the department
	case 3:
		return "5" + nir[1:] // no such first digit
	case 4:
		return nir[:13] + "AB" // letters for a key
	default: // as printed on a card
		return strings.Join([]string{nir[:1], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]}, " ")
	}
}

func badDate(r *rand.Rand) string {
	return pick(r, []string{"2025-13-45", "2024-02-30", "31/12/2024", "20250115"})
}

func badCommune(r *rand.Rand) string { return pick(r, []string{"7505", "ABCDE", "750560", "2C004"}) }

// before returns a YYYY-MM-DD date some days before the valid date d.
func before(r *rand.Rand, d string) string {
	t, _ := time.Parse(time.DateOnly, d)
	return ymd(t.AddDate(0, 0, -1-r.IntN(400)))
}
