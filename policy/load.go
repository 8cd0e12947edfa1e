package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// RuleSet is a loaded, validated policy: the purposes register and the
// rules, indexed by (requester, purpose) so a decision only looks at its
// candidates.
type RuleSet struct {
	// Version identifies the policy content (a digest of its files); every
	// decision names it.
	Version  string
	purposes map[string]*Purpose
	order    []*Purpose
	rules    []*Rule
	index    map[pair][]*Rule
	// aggregates are the decision-makers' rules (aggregates.go).
	aggregates []*AggregateRule
}

type pair struct{ requester, purpose string }

// Files of a policy directory.
const (
	PurposesFile = "purposes.yaml"
	RulesDir     = "rules"
)

// Load reads <dir>/purposes.yaml and <dir>/rules/*.yaml from fsys. Every
// error names the file and the field.
func Load(fsys fs.FS, dir string) (*RuleSet, error) {
	digest := sha256.New()
	read := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRules, err)
		}
		digest.Write([]byte(name))
		digest.Write(b)
		return b, nil
	}
	rs := &RuleSet{purposes: map[string]*Purpose{}, index: map[pair][]*Rule{}}
	pfile := path.Join(dir, PurposesFile)
	b, err := read(pfile)
	if err != nil {
		return nil, err
	}
	var purposes []*Purpose
	if err := strict(b, &purposes); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRules, pfile, err)
	}
	for i, p := range purposes {
		where := fmt.Sprintf("%s: [%d]", pfile, i)
		switch {
		case p.ID == "":
			return nil, fmt.Errorf("%w: %s.id: required", ErrInvalidRules, where)
		case rs.purposes[p.ID] != nil:
			return nil, fmt.Errorf("%w: %s.id: %q listed twice", ErrInvalidRules, where, p.ID)
		case p.Description == "":
			return nil, fmt.Errorf("%w: %s.description: required", ErrInvalidRules, where)
		case p.MaxFields < 0 || p.MaxPerCitizen < 0 || p.MaxAge < 0:
			return nil, fmt.Errorf("%w: %s: ceilings must not be negative", ErrInvalidRules, where)
		case p.MaxPerCitizen > 0 && p.Window <= 0:
			return nil, fmt.Errorf("%w: %s.window: required with max_per_citizen", ErrInvalidRules, where)
		}
		rs.purposes[p.ID] = p
		rs.order = append(rs.order, p)
	}

	names, err := fs.Glob(fsys, path.Join(dir, RulesDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	ids := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, ".test.yaml") {
			continue
		}
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		r := &Rule{file: name}
		if err := strict(b, r); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRules, name, err)
		}
		if err := rs.check(r); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRules, name, err)
		}
		if other, dup := ids[r.ID]; dup {
			return nil, fmt.Errorf("%w: %s: id: %q already used in %s", ErrInvalidRules, name, r.ID, other)
		}
		ids[r.ID] = name
		k := pair{r.Requester, r.Purpose}
		for _, o := range rs.index[k] {
			if overlaps(o, r) {
				return nil, fmt.Errorf("%w: %s: valid_from: overlaps rule %s of %s for the same requester and purpose", ErrInvalidRules, name, o.ID, o.file)
			}
		}
		rs.index[k] = append(rs.index[k], r)
		rs.rules = append(rs.rules, r)
	}
	if err := rs.loadAggregates(fsys, dir, read); err != nil {
		return nil, err
	}
	rs.Version = hex.EncodeToString(digest.Sum(nil))[:12]
	return rs, nil
}

func strict(b []byte, out any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(out)
}

// checkHeader validates what every kind of rule says of itself: who, for
// which purpose of the register, on which legal text, from when.
func (rs *RuleSet) checkHeader(id, requester, purpose, legalReference string, from, until time.Time) error {
	switch {
	case id == "":
		return fmt.Errorf("id: required")
	case requester == "":
		return fmt.Errorf("requester: required")
	case rs.purposes[purpose] == nil:
		return fmt.Errorf("purpose: %w %q (not in %s)", ErrUnknownPurpose, purpose, PurposesFile)
	case legalReference == "":
		return fmt.Errorf("legal_reference: required: the legal text the rule rests on")
	case from.IsZero():
		return fmt.Errorf("valid_from: required")
	case !until.IsZero() && !until.After(from):
		return fmt.Errorf("valid_until: must be after valid_from")
	}
	return nil
}

// check validates one rule against the register.
func (rs *RuleSet) check(r *Rule) error {
	if err := rs.checkHeader(r.ID, r.Requester, r.Purpose, r.LegalReference, r.ValidFrom, r.ValidUntil); err != nil {
		return err
	}
	switch r.LegalBasis {
	case BasisLegalObligation, BasisPublicTask, BasisVitalInterest:
	case BasisConsent:
		if !r.ConsentRequired {
			return fmt.Errorf("consent_required: must be true when legal_basis is consent")
		}
	default:
		return fmt.Errorf("legal_basis: %q, want legal-obligation, public-task, consent or vital-interest", r.LegalBasis)
	}
	if len(r.Fields) == 0 {
		return fmt.Errorf("fields: at least one is required")
	}
	for i, f := range r.Fields {
		s, err := ParseFields([]string{f})
		if err != nil {
			return fmt.Errorf("fields[%d]: %w", i, err)
		}
		r.fields = r.fields.Or(s)
	}
	r.Releases = r.releases()
	return nil
}

func overlaps(a, b *Rule) bool {
	return overlapsIn(a.ValidFrom, a.ValidUntil, b.ValidFrom, b.ValidUntil)
}

// overlapsIn reports whether two validity periods share an instant; a zero
// until is open-ended. Every kind of rule is valid over such a period.
func overlapsIn(aFrom, aUntil, bFrom, bUntil time.Time) bool {
	return (aUntil.IsZero() || aUntil.After(bFrom)) && (bUntil.IsZero() || bUntil.After(aFrom))
}

// within reports whether t falls in the period [from, until).
func within(t, from, until time.Time) bool {
	return !t.Before(from) && (until.IsZero() || t.Before(until))
}

// Rules lists the rules in file order: the public register.
func (rs *RuleSet) Rules() []*Rule { return slices.Clone(rs.rules) }

// Purposes lists the register's purposes.
func (rs *RuleSet) Purposes() []*Purpose { return slices.Clone(rs.order) }

// Purpose returns one purpose.
func (rs *RuleSet) Purpose(id string) (*Purpose, bool) {
	p, ok := rs.purposes[id]
	return p, ok
}
