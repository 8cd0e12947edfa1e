// Package policy decides what a member may read about a citizen: rules
// name a requester, a purpose, a legal basis and its text, and the fields
// they release; purposes carry fair-use ceilings; consent is required where
// a rule says so, and always for special-category data (health first)
// unless a rule names an explicit legal exception. Fields, and which are
// special-category, come from the domain registry (internal/domains). A decision is a pure function of the rule set,
// the consent state and the request.
package policy

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

// Field is a field of the unified citizen view, "<domain>.<name>".
type Field uint8

// MaxFields is how many fields the view can have: a FieldSet's capacity.
const MaxFields = 64 * len(FieldSet{})

// catalogue is the view's fields, numbered in domain registry order: the
// order of the domains, then of each domain's fields. Derived once from
// the registry and never changed.
type catalogue struct {
	names   []string
	infos   []FieldInfo
	index   map[string]Field
	domains map[string]FieldSet
	// special are the fields classed special-category (GDPR art. 9):
	// released only with consent or a rule's named legal exception.
	special FieldSet
}

var fields = sync.OnceValue(func() *catalogue {
	c := &catalogue{index: map[string]Field{}, domains: map[string]FieldSet{}}
	for _, d := range domains.All() {
		for _, f := range d.Fields {
			if len(c.names) == MaxFields {
				panic(fmt.Sprintf("policy: the view has more than %d fields: grow FieldSet", MaxFields))
			}
			n := Field(len(c.names))
			name := d.Name + "." + f.Name
			c.names = append(c.names, name)
			c.infos = append(c.infos, FieldInfo{Name: name, Type: string(f.Type), Class: string(f.Class), Optional: f.Optional, Doc: f.Doc})
			c.index[name] = n
			s := c.domains[d.Name]
			s.Add(n)
			c.domains[d.Name] = s
			if f.Class == domain.SpecialCategory {
				c.special.Add(n)
			}
		}
	}
	return c
})

// String is the field's name.
func (f Field) String() string { return fields().names[f] }

// Domain is the part before the dot.
func (f Field) Domain() string { d, _, _ := strings.Cut(f.String(), "."); return d }

// FieldNames lists every field of the view.
func FieldNames() []string { return slices.Clone(fields().names) }

// FieldInfo is a field of the view as the public register describes it.
type FieldInfo struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Class    string `json:"class"`
	Optional bool   `json:"optional,omitempty"`
	Doc      string `json:"doc"`
}

// Catalogue describes every field of the view, in view order.
func Catalogue() []FieldInfo { return slices.Clone(fields().infos) }

// Class is the field's sensitivity class.
func (f Field) Class() string { return fields().infos[f].Class }

// SpecialCategory is every field classed special-category.
func SpecialCategory() FieldSet { return fields().special }

// FieldSet is a set of fields; set operations do not allocate, which keeps
// decisions allocation-free.
type FieldSet [2]uint64

// Add adds f.
func (s *FieldSet) Add(f Field) { s[f/64] |= 1 << (f % 64) }

// Has reports whether f is in s.
func (s FieldSet) Has(f Field) bool { return s[f/64]&(1<<(f%64)) != 0 }

// And is the intersection.
func (s FieldSet) And(o FieldSet) FieldSet { return FieldSet{s[0] & o[0], s[1] & o[1]} }

// Minus is s without o.
func (s FieldSet) Minus(o FieldSet) FieldSet { return FieldSet{s[0] &^ o[0], s[1] &^ o[1]} }

// Or is the union.
func (s FieldSet) Or(o FieldSet) FieldSet { return FieldSet{s[0] | o[0], s[1] | o[1]} }

// Len counts the fields.
func (s FieldSet) Len() int { return bits.OnesCount64(s[0]) + bits.OnesCount64(s[1]) }

// Empty reports whether s has no field.
func (s FieldSet) Empty() bool { return s[0]|s[1] == 0 }

// Fields lists the members in view order.
func (s FieldSet) Fields() []Field {
	out := make([]Field, 0, s.Len())
	for w, v := range s {
		for ; v != 0; v &= v - 1 {
			out = append(out, Field(w*64+bits.TrailingZeros64(v)))
		}
	}
	return out
}

// Names lists the members' names.
func (s FieldSet) Names() []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.String())
	}
	return out
}

// domainSet is every field of domain.
func domainSet(domain string) FieldSet { return fields().domains[domain] }

// ParseFields reads "tax.reference_income,civilstatus.birth_date" or
// "health.*"; an unknown name is an error naming it.
func ParseFields(names []string) (FieldSet, error) {
	idx := fields().index
	var s FieldSet
	for _, n := range names {
		n = strings.TrimSpace(n)
		if d, ok := strings.CutSuffix(n, ".*"); ok {
			ds := domainSet(d)
			if ds.Empty() {
				return s, fmt.Errorf("%w: %q", ErrUnknownField, n)
			}
			s = s.Or(ds)
			continue
		}
		f, ok := idx[n]
		if !ok {
			return s, fmt.Errorf("%w: %q", ErrUnknownField, n)
		}
		s.Add(f)
	}
	return s, nil
}
