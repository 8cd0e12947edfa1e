package policy

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

// AggregatesDir holds the aggregate rules of a policy directory.
const AggregatesDir = "aggregates"

// MaxDimensions bounds an aggregate rule's table: its dimensions are the
// one table every answer under the rule is cut from (internal/stats), and
// secondary suppression over more than four dimensions is neither fast
// nor readable.
const MaxDimensions = 4

// Aggregate operations.
const (
	OpCount    = "count"
	OpSum      = "sum"
	OpMean     = "mean"
	OpQuantile = "quantile"
)

// Disclosure defaults, as national statistics offices use them.
const (
	DefaultK              = 11
	DefaultDominanceN     = 1
	DefaultDominanceShare = 0.85
	DefaultProtection     = 0.15
	DefaultCountProtect   = 2
)

// AggregateRule lets a decision-maker compute statistics for a purpose: the
// breakdowns it may group and filter by, the measures it may aggregate,
// and the disclosure control applied before anything leaves.
type AggregateRule struct {
	ID             string `yaml:"id" json:"id"`
	Requester      string `yaml:"requester" json:"requester"`
	Purpose        string `yaml:"purpose" json:"purpose"`
	LegalBasis     string `yaml:"legal_basis" json:"legal_basis"`
	LegalReference string `yaml:"legal_reference" json:"legal_reference"`
	// Dimensions are "<domain>.<breakdown>": the rule's table. A query
	// groups by some of them and filters on any.
	Dimensions []string `yaml:"dimensions" json:"dimensions"`
	// Measures are numeric fields, "<domain>.<field>".
	Measures []string `yaml:"measures" json:"measures"`
	// Ops the rule allows; all of them if empty.
	Ops []string `yaml:"ops" json:"ops"`
	// Population: the domains every counted citizen is in, on top of those
	// the dimensions and measures name (an inner join over all of them).
	Population []string   `yaml:"population" json:"population"`
	Disclosure Disclosure `yaml:"disclosure" json:"disclosure"`
	// Noise, when set, allows noisy answers under a privacy budget.
	Noise      *NoisePolicy `yaml:"noise,omitempty" json:"noise,omitempty"`
	ValidFrom  time.Time    `yaml:"valid_from" json:"valid_from"`
	ValidUntil time.Time    `yaml:"valid_until,omitempty" json:"valid_until,omitzero"`

	domains []string
	file    string
}

// Disclosure is the statistical disclosure control of a rule.
type Disclosure struct {
	// K: a cell with fewer contributing citizens is suppressed.
	K int `yaml:"k" json:"k"`
	// A sum whose DominanceN largest contributors make more than
	// DominanceShare of it is suppressed.
	DominanceN     int     `yaml:"dominance_n" json:"dominance_n"`
	DominanceShare float64 `yaml:"dominance_share" json:"dominance_share"`
	// Protection: no suppressed sum may be narrowed to an interval
	// narrower than this share of its value.
	Protection float64 `yaml:"protection" json:"protection"`
	// CountProtection: no suppressed count may be narrowed to an interval
	// narrower than this (2: at least three possible values). Its label
	// already says a k-threshold cell is under k; what must not leak is
	// its value.
	CountProtection int `yaml:"count_protection" json:"count_protection"`
}

// NoisePolicy allows answers with discrete Laplace noise.
type NoisePolicy struct {
	// MaxEpsilon is the most one query may spend.
	MaxEpsilon float64 `yaml:"max_epsilon" json:"max_epsilon"`
	// Budget is what a requester may spend under the rule per calendar
	// year (BudgetPeriod).
	Budget float64 `yaml:"budget" json:"budget"`
	// Bounds clip each citizen's contribution to a measure's sum, in the
	// measure's unit (cents for money): the sensitivity of the sum.
	Bounds map[string]int64 `yaml:"bounds" json:"bounds"`
}

// BudgetPeriod is the budget period a time falls in: the calendar year.
func BudgetPeriod(t time.Time) string { return t.UTC().Format("2006") }

// Domains are the domains of the rule's population, in registry order.
func (r *AggregateRule) Domains() []string { return slices.Clone(r.domains) }

// AllowsOp reports whether the rule allows op.
func (r *AggregateRule) AllowsOp(op string) bool {
	return len(r.Ops) == 0 || slices.Contains(r.Ops, op)
}

// ActiveAt reports whether the rule is in force at t.
func (r *AggregateRule) ActiveAt(t time.Time) bool {
	return within(t, r.ValidFrom, r.ValidUntil)
}

// SplitName splits "<domain>.<name>".
func SplitName(s string) (domainName, name string, ok bool) {
	domainName, name, ok = strings.Cut(s, ".")
	return domainName, name, ok && domainName != "" && name != ""
}

// LookupBreakdown finds "<domain>.<breakdown>" in the registry.
func LookupBreakdown(s string) (*domain.Domain, *domain.Breakdown, bool) {
	dn, name, ok := SplitName(s)
	if !ok {
		return nil, nil, false
	}
	d, ok := domains.ByName(dn)
	if !ok {
		return nil, nil, false
	}
	b, ok := d.Breakdown(name)
	return d, b, ok
}

// LookupMeasure finds the field "<domain>.<field>" in the registry.
func LookupMeasure(s string) (*domain.Domain, domain.Field, bool) {
	dn, name, ok := SplitName(s)
	if !ok {
		return nil, domain.Field{}, false
	}
	d, ok := domains.ByName(dn)
	if !ok {
		return nil, domain.Field{}, false
	}
	f, ok := d.Field(name)
	return d, f, ok
}

func (rs *RuleSet) loadAggregates(fsys fs.FS, dir string, read func(string) ([]byte, error)) error {
	names, err := fs.Glob(fsys, path.Join(dir, AggregatesDir, "*.yaml"))
	if err != nil {
		return err
	}
	slices.Sort(names)
	ids := map[string]string{}
	for _, r := range rs.rules {
		ids[r.ID] = r.file
	}
	for _, name := range names {
		b, err := read(name)
		if err != nil {
			return err
		}
		r := &AggregateRule{file: name}
		if err := strict(b, r); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidRules, name, err)
		}
		if err := rs.checkAggregate(r); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidRules, name, err)
		}
		if other, dup := ids[r.ID]; dup {
			return fmt.Errorf("%w: %s: id: %q already used in %s", ErrInvalidRules, name, r.ID, other)
		}
		ids[r.ID] = name
		for _, o := range rs.aggregates {
			if o.Requester == r.Requester && o.Purpose == r.Purpose && overlapsIn(o.ValidFrom, o.ValidUntil, r.ValidFrom, r.ValidUntil) {
				return fmt.Errorf("%w: %s: valid_from: overlaps aggregate rule %s of %s for the same requester and purpose", ErrInvalidRules, name, o.ID, o.file)
			}
		}
		rs.aggregates = append(rs.aggregates, r)
	}
	return checkPopulations(rs.aggregates)
}

// checkPopulations refuses two rules in force together, whoever their
// requesters, where one's population contains the other's: each table is
// protected on its own, and the difference of two answers would describe
// the citizens counted by one and not the other — a man of 75 with taxes
// and no benefit, say. Requesters are not trusted not to collude.
func checkPopulations(rules []*AggregateRule) error {
	for i, a := range rules {
		for _, b := range rules[i+1:] {
			if !overlapsIn(a.ValidFrom, a.ValidUntil, b.ValidFrom, b.ValidUntil) {
				continue
			}
			if subset(a.domains, b.domains) || subset(b.domains, a.domains) {
				return fmt.Errorf("%w: %s: population: %v and the population %v of %s (%s) contain one another: the difference of two answers would single out the citizens in one and not the other; make them one rule, or populations neither of which holds the other",
					ErrInvalidRules, b.file, b.domains, a.domains, a.ID, a.file)
			}
		}
	}
	return nil
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// checkAggregate validates one aggregate rule against the register and
// the domain registry, and fills its defaults.
func (rs *RuleSet) checkAggregate(r *AggregateRule) error {
	if err := rs.checkHeader(r.ID, r.Requester, r.Purpose, r.LegalReference, r.ValidFrom, r.ValidUntil); err != nil {
		return err
	}
	switch {
	case r.LegalBasis != BasisLegalObligation && r.LegalBasis != BasisPublicTask:
		return fmt.Errorf("legal_basis: %q, want legal-obligation or public-task", r.LegalBasis)
	case len(r.Dimensions) == 0 || len(r.Dimensions) > MaxDimensions:
		return fmt.Errorf("dimensions: between 1 and %d", MaxDimensions)
	}
	in := map[string]bool{}
	for i, s := range r.Dimensions {
		d, _, ok := LookupBreakdown(s)
		if !ok {
			return fmt.Errorf("dimensions[%d]: %q is no breakdown of the domain registry", i, s)
		}
		if slices.Index(r.Dimensions, s) != i {
			return fmt.Errorf("dimensions[%d]: %q listed twice", i, s)
		}
		in[d.Name] = true
	}
	for i, s := range r.Measures {
		d, f, ok := LookupMeasure(s)
		switch {
		case !ok:
			return fmt.Errorf("measures[%d]: %q is no field of the domain registry", i, s)
		case !f.Numeric() || f.Class != domain.Measure:
			return fmt.Errorf("measures[%d]: %q is not a numeric measure", i, s)
		case slices.Index(r.Measures, s) != i:
			return fmt.Errorf("measures[%d]: %q listed twice", i, s)
		}
		in[d.Name] = true
	}
	for i, op := range r.Ops {
		if op != OpCount && op != OpSum && op != OpMean && op != OpQuantile {
			return fmt.Errorf("ops[%d]: %q, want count, sum, mean or quantile", i, op)
		}
	}
	for i, dn := range r.Population {
		if _, ok := domains.ByName(dn); !ok {
			return fmt.Errorf("population[%d]: %q is no domain", i, dn)
		}
		in[dn] = true
	}
	for _, d := range domains.All() {
		if in[d.Name] {
			r.domains = append(r.domains, d.Name)
		}
	}
	dc := &r.Disclosure
	if dc.K == 0 {
		dc.K = DefaultK
	}
	if dc.DominanceN == 0 {
		dc.DominanceN = DefaultDominanceN
	}
	if dc.DominanceShare == 0 {
		dc.DominanceShare = DefaultDominanceShare
	}
	if dc.Protection == 0 {
		dc.Protection = DefaultProtection
	}
	if dc.CountProtection == 0 {
		dc.CountProtection = DefaultCountProtect
	}
	switch {
	case dc.K < 2:
		return fmt.Errorf("disclosure.k: %d, want at least 2", dc.K)
	case dc.DominanceN < 1:
		return fmt.Errorf("disclosure.dominance_n: want at least 1")
	case dc.DominanceShare <= 0 || dc.DominanceShare >= 1:
		return fmt.Errorf("disclosure.dominance_share: %v, want within (0, 1)", dc.DominanceShare)
	case dc.Protection <= 0 || dc.Protection >= 1:
		return fmt.Errorf("disclosure.protection: %v, want within (0, 1)", dc.Protection)
	case dc.CountProtection < 1 || dc.CountProtection > dc.K:
		return fmt.Errorf("disclosure.count_protection: %d, want within [1, k]", dc.CountProtection)
	}
	if n := r.Noise; n != nil {
		switch {
		case n.MaxEpsilon <= 0 || n.MaxEpsilon > 10:
			return fmt.Errorf("noise.max_epsilon: %v, want within (0, 10]", n.MaxEpsilon)
		case n.Budget < n.MaxEpsilon:
			return fmt.Errorf("noise.budget: %v, want at least max_epsilon", n.Budget)
		}
		for _, m := range r.Measures {
			if n.Bounds[m] <= 0 {
				return fmt.Errorf("noise.bounds: %s: a positive bound is required for every measure", m)
			}
		}
		for m := range n.Bounds {
			if !slices.Contains(r.Measures, m) {
				return fmt.Errorf("noise.bounds: %s is not a measure of the rule", m)
			}
		}
	}
	return nil
}

// Aggregates lists the aggregate rules in file order: the public register.
func (rs *RuleSet) Aggregates() []*AggregateRule { return slices.Clone(rs.aggregates) }

// Aggregate finds the aggregate rule in force at t for requester and
// purpose.
func (rs *RuleSet) Aggregate(requester, purpose string, t time.Time) (*AggregateRule, bool) {
	for _, r := range rs.aggregates {
		if r.Requester == requester && r.Purpose == purpose && r.ActiveAt(t) {
			return r, true
		}
	}
	return nil, false
}

// BreakdownInfo is a breakdown as GET /v1/rules publishes it.
type BreakdownInfo struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Doc        string   `json:"doc"`
	Categories []string `json:"categories"`
}

// Breakdowns lists every breakdown of the domain registry, in its order.
func Breakdowns() []BreakdownInfo {
	var out []BreakdownInfo
	for _, d := range domains.All() {
		for _, b := range d.Breakdowns {
			out = append(out, BreakdownInfo{Name: d.Name + "." + b.Name, Kind: string(b.Kind), Doc: b.Doc, Categories: slices.Clone(b.Categories)})
		}
	}
	return out
}
