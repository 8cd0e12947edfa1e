package synth

import (
	"math/rand/v2"
	"time"
)

// Defect rates. The zero Options asks for DefaultDefectRate, so a test that
// wants a clean population says so with NoDefects.
const (
	DefaultDefectRate = 0.01
	NoDefects         = -1.0
	MaxDefectRate     = 0.5
)

// TaxYear is the income year of every tax assessment.
const TaxYear = 2025

// The synthetic "today": the 2025 incomes are assessed and every date is
// before it. Fixed, so that outputs never depend on the clock.
const (
	asOfYear  = 2026
	asOfMonth = time.September
	asOfDay   = 15
)

// Options tune Generate.
type Options struct {
	// DefectRate is the share of each domain's rows that are defective,
	// up to MaxDefectRate: 0 means DefaultDefectRate, a negative value
	// (NoDefects) none.
	DefectRate float64
}

// Rate is the defect rate Generate uses for o.
func (o Options) Rate() float64 {
	switch {
	case o.DefectRate < 0:
		return 0
	case o.DefectRate == 0:
		return DefaultDefectRate
	case o.DefectRate > MaxDefectRate:
		return MaxDefectRate
	}
	return o.DefectRate
}

// Address is where someone lives.
type Address struct {
	CommuneCode string // INSEE code, e.g. "75056"
	Postcode    string // e.g. "75011"
}

// Citizen is one synthetic person, the truth every domain's rows derive
// from.
type Citizen struct {
	NIR        string
	FamilyName string
	UsageName  string // "" when none
	GivenNames []string
	Sex        string // "F" or "M"
	BirthDate  time.Time
	// BirthCommune is the INSEE code of the commune of birth, "" for a
	// birth abroad (the NIR's department is then 99).
	BirthCommune  string
	BirthCountry  string    // ISO 3166-1 alpha-2
	Nationality   string    // ISO 3166-1 alpha-2
	MaritalStatus string    // SINGLE, MARRIED, CIVIL_PARTNERSHIP, DIVORCED or WIDOWED
	DeathDate     time.Time // zero while alive
	Address       Address   // the current one, the last one for the dead
	// Income is the adult's earnings of TaxYear in cents (pay, pension or
	// little), as the tax office assessed it; 0 for children and the dead.
	Income int64
}

// Alive reports whether c has no death date.
func (c *Citizen) Alive() bool { return c.DeathDate.IsZero() }

// Age is c's age in whole years at t.
func (c *Citizen) Age(t time.Time) int { return yearsBetween(c.BirthDate, t) }

// Population is one synthetic population and the rows of every source
// system, valid and defective mixed in write order.
type Population struct {
	Seed       int64
	AsOf       time.Time // the synthetic "today"
	DefectRate float64   // as applied
	Citizens   []Citizen // the dead included; defective rows belong to none

	Tax       []TaxRow
	HR        []EmploymentRow
	Payments  []PaymentRow
	Events    []CivilEvent
	Coverages []CoverageRow

	// Manifest lists every row of each domain by source key.
	Manifest map[Domain]Manifest

	strangers
}

// Generate builds a population of the given number of citizens. The same
// seed and options always give the same population, byte for byte once
// written.
//
// Each stage draws from its own random stream, so that, for instance, the
// defect rate changes the defective rows and the keys but no valid row's
// content.
func Generate(citizens int, seed int64, opts Options) *Population {
	g := &gen{
		t:       loadTables(),
		seed:    seed,
		asOf:    time.Date(asOfYear, asOfMonth, asOfDay, 0, 0, 0, 0, time.UTC),
		nirs:    map[string]struct{}{},
		fiscals: map[string]struct{}{},
	}
	citizens = max(citizens, 0)
	g.people = make([]person, 0, citizens)
	g.population(citizens)
	p := &Population{Seed: seed, AsOf: g.asOf, DefectRate: opts.Rate()}
	p.Citizens = make([]Citizen, len(g.people))
	for i := range g.people {
		p.Citizens[i] = g.people[i].Citizen
	}
	// Payroll first: public servants' pay is part of their household's
	// income, which the benefits and the health cover depend on.
	p.HR = g.employmentRows()
	p.Tax = g.taxRows()
	p.Payments = g.paymentRows()
	p.Coverages = g.coverageRows()
	p.Events = g.civilEvents()
	for i := range g.people {
		p.Citizens[i].Income = g.people[i].income
	}
	g.addDefects(p)
	p.buildManifests()
	return p
}

// Random stream ids, one per stage.
const (
	streamPeople uint64 = iota + 1
	streamTax
	streamHR
	streamFinance
	streamHealth
	streamCivil
	streamDefects
)

// gen is the state of one Generate call.
type gen struct {
	t    *tables
	seed int64
	asOf time.Time

	people     []person
	households []household
	// nirs holds every NIR body handed out, citizens' and defective rows'
	// alike, so no two rows share a NIR by accident.
	nirs    map[string]struct{}
	fiscals map[string]struct{} // household ids handed out
}

func (g *gen) rand(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(g.seed), stream))
}
