// Package policy decides what a member may read about a citizen: rules
// name a requester, a purpose, a legal basis and its text, and the fields
// they release; purposes carry fair-use ceilings; consent is required where
// a rule says so, and always for health data unless a rule names an
// explicit legal exception. A decision is a pure function of the rule set,
// the consent state and the request.
package policy

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Field is a field of the unified citizen view, "<domain>.<name>".
type Field uint8

// The fields of the view, by domain. The order is the wire order of the
// view and never changes meaning: add at the end of a domain's list.
var fieldNames = [...]string{
	"civilstatus.family_name", "civilstatus.usage_name", "civilstatus.given_names", "civilstatus.sex",
	"civilstatus.birth_date", "civilstatus.birth_commune", "civilstatus.birth_country", "civilstatus.nationality",
	"civilstatus.marital_status", "civilstatus.death_date", "civilstatus.address",
	"tax.tax_year", "tax.household_id", "tax.role", "tax.shares", "tax.reference_income", "tax.taxable_income",
	"tax.tax_due", "tax.dependants", "tax.commune",
	"hr.employer", "hr.corps", "hr.grade", "hr.category", "hr.status", "hr.start_date", "hr.end_date",
	"hr.working_time", "hr.gross_monthly_pay",
	"finance.benefit", "finance.period", "finance.amount", "finance.payer", "finance.payment_date", "finance.status",
	"health.scheme", "health.coverage_type", "health.start_date", "health.end_date", "health.long_term_condition",
	"health.declared_gp",
}

// Field names are looked up through a sorted index built once per rule set.
type fieldIndex map[string]Field

func newFieldIndex() fieldIndex {
	idx := make(fieldIndex, len(fieldNames))
	for i, n := range fieldNames {
		idx[n] = Field(i)
	}
	return idx
}

// String is the field's name.
func (f Field) String() string { return fieldNames[f] }

// Domain is the part before the dot.
func (f Field) Domain() string { d, _, _ := strings.Cut(fieldNames[f], "."); return d }

// FieldNames lists every field of the view.
func FieldNames() []string { return slices.Clone(fieldNames[:]) }

// FieldSet is a set of fields; set operations do not allocate, which keeps
// decisions allocation-free.
type FieldSet [1]uint64

// A FieldSet holds 64 fields: this stops the build if the view outgrows it.
const _ = uint(64 - len(fieldNames))

// Add adds f.
func (s *FieldSet) Add(f Field) { s[0] |= 1 << f }

// Has reports whether f is in s.
func (s FieldSet) Has(f Field) bool { return s[0]&(1<<f) != 0 }

// And is the intersection.
func (s FieldSet) And(o FieldSet) FieldSet { return FieldSet{s[0] & o[0]} }

// Minus is s without o.
func (s FieldSet) Minus(o FieldSet) FieldSet { return FieldSet{s[0] &^ o[0]} }

// Or is the union.
func (s FieldSet) Or(o FieldSet) FieldSet { return FieldSet{s[0] | o[0]} }

// Len counts the fields.
func (s FieldSet) Len() int { return bits.OnesCount64(s[0]) }

// Empty reports whether s has no field.
func (s FieldSet) Empty() bool { return s[0] == 0 }

// Fields lists the members in view order.
func (s FieldSet) Fields() []Field {
	out := make([]Field, 0, s.Len())
	for v := s[0]; v != 0; v &= v - 1 {
		out = append(out, Field(bits.TrailingZeros64(v)))
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
func domainSet(domain string) FieldSet {
	var s FieldSet
	for i, n := range fieldNames {
		if strings.HasPrefix(n, domain+".") {
			s.Add(Field(i))
		}
	}
	return s
}

// healthFields are the special category (GDPR art. 9).
var healthFields = domainSet("health")

// ParseFields reads "tax.reference_income,civilstatus.birth_date" or
// "health.*"; an unknown name is an error naming it.
func ParseFields(names []string) (FieldSet, error) {
	idx := newFieldIndex()
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
