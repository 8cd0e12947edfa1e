package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

// Values of the source systems, spelled as the Avro enums spell them.
const (
	single           = "SINGLE"
	married          = "MARRIED"
	civilPartnership = "CIVIL_PARTNERSHIP"
	divorced         = "DIVORCED"
	widowed          = "WIDOWED"

	declarant   = "DECLARANT"
	coDeclarant = "CO_DECLARANT"
	dependant   = "DEPENDANT"
)

// person is a citizen with the facts the domains derive from.
type person struct {
	Citizen
	hh   int    // tax household, -1 for the dead
	role string // in the household

	union      time.Time // marriage or PACS, zero when none
	unionState string    // MARRIED or CIVIL_PARTNERSHIP
	unionUsage string    // usage name taken at the union
	unionEnd   time.Time // divorce or widowhood
	// birthAddr is the address on the birth record, nil for a birth
	// abroad; moved is when the current address was registered, zero
	// when it is still the birth address.
	birthAddr *Address
	moved     time.Time
	// arrived is when the register first knew someone born abroad: their
	// BIRTH event is recorded then.
	arrived time.Time

	pay    int64 // gross monthly pay in the public service, cents
	income int64 // annual earnings, cents
}

type household struct {
	id               string
	members          []int // declarant, co-declarant, then dependants
	adults, children int
	addr             Address
	commune          int // index in tables.communes
}

// population builds households until there are n citizens.
func (g *gen) population(n int) {
	r := g.rand(streamPeople)
	for len(g.people) < n {
		left := n - len(g.people)
		switch u := r.Float64(); {
		case u < 0.012:
			g.deceased(r)
		case u < 0.05 && left >= 2:
			g.widowed(r)
		case u < 0.43 || left < 2:
			g.single(r, left)
		default:
			g.couple(r, left)
		}
	}
	g.settle(r)
}

func (g *gen) single(r *rand.Rand, left int) {
	age := adultAge(r, 18)
	hi := g.newHousehold(r)
	p := g.born(r, pick(r, []string{"F", "M"}), g.birthFromAge(r, age), chance(r, 0.09), g.households[hi].commune, 0.35)
	if age >= 28 && chance(r, 0.3) {
		p.MaritalStatus = divorced
		p.unionState = married
		p.union = dateBetween(r, p.BirthDate.AddDate(20, 0, 0), g.asOf.AddDate(-3, 0, 0))
		p.unionEnd = dateBetween(r, p.union.AddDate(1, 0, 0), g.asOf.AddDate(0, 0, -10))
	}
	pi := g.add(p)
	g.join(hi, pi, declarant)
	if age < 55 && left > 1 && chance(r, 0.16) {
		g.children(r, hi, []int{pi}, min(left-1, 1+r.IntN(2)))
	}
}

func (g *gen) couple(r *rand.Rand, left int) {
	// 19 at least: a union needs both partners adult, and a date before asOf.
	a1 := adultAge(r, 19)
	a2 := min(max(a1+int(r.NormFloat64()*4), 19), 100)
	s1, s2 := "M", "F"
	if chance(r, 0.04) {
		s1 = pick(r, []string{"F", "M"})
		s2 = s1
	}
	hi := g.newHousehold(r)
	home := g.households[hi].commune
	p1 := g.born(r, s1, g.birthFromAge(r, a1), chance(r, 0.09), home, 0.35)
	p2 := g.born(r, s2, g.birthFromAge(r, a2), chance(r, 0.09), home, 0.35)
	state := civilPartnership
	if chance(r, 0.75) {
		state = married
	}
	union := dateBetween(r, latest(p1.BirthDate, p2.BirthDate).AddDate(18, 0, 1), g.asOf.AddDate(0, 0, -10))
	for _, p := range []*person{&p1, &p2} {
		p.MaritalStatus, p.unionState, p.union = state, state, union
	}
	if state == married && s1 == "M" && s2 == "F" && chance(r, 0.6) {
		p2.unionUsage = p1.FamilyName
		p2.UsageName = p1.FamilyName
	}
	i1, i2 := g.add(p1), g.add(p2)
	g.join(hi, i1, declarant)
	g.join(hi, i2, coDeclarant)
	if k := []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4}[r.IntN(11)]; k > 0 && left > 2 {
		g.children(r, hi, []int{i1, i2}, min(k, left-2))
	}
}

// widowed adds a survivor and the spouse who died, married until then.
func (g *gen) widowed(r *rand.Rand) {
	age := adultAge(r, 55)
	sex, other := "F", "M"
	if chance(r, 0.3) {
		sex, other = other, sex
	}
	hi := g.newHousehold(r)
	home := g.households[hi].commune
	s := g.born(r, sex, g.birthFromAge(r, age), chance(r, 0.08), home, 0.35)
	spouseBirth := g.birthFromAge(r, min(max(age+int(r.NormFloat64()*4), 50), 104))
	d := g.born(r, other, spouseBirth, chance(r, 0.08), home, 0.35)
	d.DeathDate = dateBetween(r, latest(g.asOf.AddDate(-20, 0, 0), spouseBirth.AddDate(40, 0, 0)), g.asOf.AddDate(0, 0, -30))
	union := dateBetween(r, latest(s.BirthDate, d.BirthDate).AddDate(20, 0, 0), d.DeathDate.AddDate(-1, 0, 0))
	s.MaritalStatus, s.unionState, s.union, s.unionEnd = widowed, married, union, d.DeathDate
	d.MaritalStatus, d.unionState, d.union = married, married, union
	if sex == "F" && chance(r, 0.6) {
		s.unionUsage, s.UsageName = d.FamilyName, d.FamilyName
	}
	g.join(hi, g.add(s), declarant)
	d.Address = g.households[hi].addr
	g.add(d)
}

// deceased adds someone who died in the last twelve years, outside any
// household.
func (g *gen) deceased(r *rand.Rand) {
	death := dateBetween(r, g.asOf.AddDate(-12, 0, 0), g.asOf.AddDate(0, 0, -7))
	birth := death.AddDate(-50-r.IntN(51), 0, -1-r.IntN(364))
	p := g.born(r, pick(r, []string{"F", "M"}), birth, chance(r, 0.07), -1, 0)
	p.DeathDate = death
	c := g.t.communes[weighted(r, g.t.communeWeights)]
	p.Address = Address{c.code, pick(r, c.postcodes)}
	switch u := r.Float64(); {
	case u < 0.3:
	case u < 0.5:
		p.MaritalStatus, p.unionState = divorced, married
		p.union = dateBetween(r, birth.AddDate(20, 0, 0), death.AddDate(-10, 0, 0))
		p.unionEnd = dateBetween(r, p.union.AddDate(1, 0, 0), death.AddDate(-1, 0, 0))
	default:
		p.MaritalStatus, p.unionState = widowed, married
		p.union = dateBetween(r, birth.AddDate(20, 0, 0), death.AddDate(-10, 0, 0))
		p.unionEnd = dateBetween(r, p.union.AddDate(1, 0, 0), death.AddDate(0, 0, -30))
	}
	g.add(p)
}

// children adds up to k minors to a household, born when the youngest
// parent was 18 to 45.
func (g *gen) children(r *rand.Rand, hi int, parents []int, k int) {
	youngest := 200
	nationality := ""
	for _, pi := range parents {
		p := &g.people[pi]
		youngest = min(youngest, p.Age(g.asOf))
		if nationality == "" || p.Nationality == "FR" {
			nationality = p.Nationality
		}
	}
	lo, hiAge := max(0, youngest-45), min(17, youngest-18)
	if lo > hiAge {
		return
	}
	first := g.people[parents[0]].FamilyName
	for range k {
		c := g.born(r, pick(r, []string{"F", "M"}), g.birthFromAge(r, lo+r.IntN(hiAge-lo+1)), chance(r, 0.03), g.households[hi].commune, 0.75)
		c.FamilyName = first
		if len(parents) == 2 && chance(r, 0.1) {
			c.FamilyName = first + " " + g.people[parents[1]].FamilyName
		}
		c.Nationality = nationality
		g.join(hi, g.add(c), dependant)
	}
}

// born makes someone born on birth: in France (in the home commune with
// probability stay) or abroad. Only the caller's context knows the rest.
func (g *gen) born(r *rand.Rand, sex string, birth time.Time, abroad bool, home int, stay float64) person {
	p := person{hh: -1}
	p.Sex, p.Nationality, p.MaritalStatus = sex, "FR", single
	var place string
	if abroad {
		c := g.t.countries[weighted(r, g.t.countryWeights)]
		p.BirthCountry, place = c.iso, "99"+c.insee
		if chance(r, 0.55) {
			p.Nationality = c.iso
		}
		if chance(r, 0.7) {
			p.FamilyName = pick(r, c.names)
		}
	} else {
		ci := home
		if ci < 0 || !chance(r, stay) {
			ci = weighted(r, g.t.communeWeights)
		}
		c := g.t.communes[ci]
		p.BirthCountry, p.BirthCommune, place = "FR", c.code, c.code
		p.birthAddr = &Address{c.code, pick(r, c.postcodes)}
	}
	if p.FamilyName == "" {
		p.FamilyName = pick(r, g.t.family)
	}
	p.GivenNames = givenNames(r, g.t, sex)
	for {
		if body, ok := g.nirBody(r, sex, birth, place); ok {
			p.NIR = withKey(body)
			break
		}
		// More than 999 people of one sex born in one place in one month:
		// only at tens of millions of citizens. A month earlier will do.
		birth = birth.AddDate(0, -1, 0)
	}
	p.BirthDate = birth
	return p
}

// nirBody draws a free 13-character NIR body: sex, year, month, the INSEE
// code of the commune of birth (or 99 and the country), an order number.
func (g *gen) nirBody(r *rand.Rand, sex string, birth time.Time, place string) (string, bool) {
	digit := "1"
	if sex == "F" {
		digit = "2"
	}
	prefix := fmt.Sprintf("%s%02d%02d%s", digit, birth.Year()%100, int(birth.Month()), place)
	try := func(order int) (string, bool) {
		body := fmt.Sprintf("%s%03d", prefix, order)
		if _, taken := g.nirs[body]; taken {
			return "", false
		}
		g.nirs[body] = struct{}{}
		return body, true
	}
	for range 32 {
		if body, ok := try(1 + r.IntN(999)); ok {
			return body, true
		}
	}
	for order := 1; order <= 999; order++ {
		if body, ok := try(order); ok {
			return body, true
		}
	}
	return "", false
}

func withKey(body string) string {
	key, err := pseudo.NIRKey(body)
	if err != nil {
		panic("synth: generated NIR body is malformed: " + err.Error()) // a bug here, never input
	}
	return fmt.Sprintf("%s%02d", body, key)
}

func givenNames(r *rand.Rand, t *tables, sex string) []string {
	pool := t.male
	if sex == "F" {
		pool = t.female
	}
	n := 1 + weighted(r, []int{35, 45, 20})
	out := make([]string, 0, n)
	for len(out) < n {
		if name := pick(r, pool); !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// adultAge draws an age of at least lo from France's adult age pyramid
// (2024, in five-year bands).
func adultAge(r *rand.Rand, lo int) int {
	bands := []int{37, 37, 40, 42, 41, 43, 44, 43, 41, 38, 36, 26, 19, 13, 6, 2} // 20–24 … 95–99
	for {
		var a int
		if r.IntN(390) < 17 { // 18 and 19: two years of a band
			a = 18 + r.IntN(2)
		} else {
			a = 20 + 5*weighted(r, bands) + r.IntN(5)
		}
		if a >= lo {
			return a
		}
	}
}

// birthFromAge draws a birth date for someone aged age on asOf.
func (g *gen) birthFromAge(r *rand.Rand, age int) time.Time {
	if age == 0 { // at least a month old, so their first events are all before asOf
		return g.asOf.AddDate(0, 0, -30-r.IntN(335))
	}
	return g.asOf.AddDate(-age, 0, -1-r.IntN(364))
}

func (g *gen) add(p person) int {
	g.people = append(g.people, p)
	return len(g.people) - 1
}

func (g *gen) newHousehold(r *rand.Rand) int {
	ci := weighted(r, g.t.communeWeights)
	c := g.t.communes[ci]
	g.households = append(g.households, household{id: g.fiscalID(r), commune: ci, addr: Address{c.code, pick(r, c.postcodes)}})
	return len(g.households) - 1
}

func (g *gen) join(hi, pi int, role string) {
	h := &g.households[hi]
	h.members = append(h.members, pi)
	if role == dependant {
		h.children++
	} else {
		h.adults++
	}
	p := &g.people[pi]
	p.hh, p.role, p.Address = hi, role, h.addr
	if p.birthAddr != nil && p.birthAddr.CommuneCode == h.addr.CommuneCode {
		*p.birthAddr = h.addr // born where they live: no move to record
	}
}

// fiscalID draws a free 13-digit household number (numéro fiscal).
func (g *gen) fiscalID(r *rand.Rand) string {
	for {
		id := fmt.Sprintf("%d%012d", 1+r.IntN(3), r.Int64N(1_000_000_000_000))
		if _, taken := g.fiscals[id]; !taken {
			g.fiscals[id] = struct{}{}
			return id
		}
	}
}

// settle dates what the civil-status register learnt after a birth: the
// arrival of those born abroad and the move to the current address.
func (g *gen) settle(r *rand.Rand) {
	for i := range g.people {
		p := &g.people[i]
		end := g.asOf.AddDate(0, 0, -1)
		if !p.Alive() {
			end = p.DeathDate.AddDate(0, 0, -1)
		}
		adult := p.BirthDate.AddDate(18, 0, 0)
		if adult.After(end) {
			adult = p.BirthDate.AddDate(0, 0, 1)
		}
		switch {
		case p.birthAddr == nil:
			if chance(r, 0.4) { // arrived as a child
				adult = p.BirthDate.AddDate(0, 0, 1)
			}
			p.arrived = dateBetween(r, adult, end.AddDate(0, 0, -40))
			p.moved = p.arrived.AddDate(0, 0, 1+r.IntN(30))
			if p.moved.After(end) {
				p.moved = end
			}
		case *p.birthAddr != p.Address:
			p.moved = dateBetween(r, adult, end)
		}
	}
}
