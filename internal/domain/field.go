package domain

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"
)

// Class is how sensitive a field is. It is the one input that the policy,
// statistics, encryption and retention read about a field: a rule never
// names "health", it names the special category.
type Class string

// The sensitivity classes.
const (
	// Identifying fields name a person on their own: names, identifiers.
	Identifying Class = "identifying"
	// QuasiIdentifier fields single a person out in combination: a birth
	// date, a commune, an employer.
	QuasiIdentifier Class = "quasi-identifier"
	// SpecialCategory fields are the data GDPR article 9 protects, health
	// first: released only with consent or a named legal exception.
	SpecialCategory Class = "special-category"
	// Measure fields are amounts and counts a statistic sums.
	Measure Class = "measure"
	// Dimension fields are categories a statistic groups by.
	Dimension Class = "dimension"
)

// Classes lists the classes, in the order the register shows them.
func Classes() []Class {
	return []Class{Identifying, QuasiIdentifier, SpecialCategory, Measure, Dimension}
}

// Personal reports whether a field of class c is about a person in a way
// encryption at rest and erasure must cover: everything but measures and
// dimensions alone.
func (c Class) Personal() bool {
	return c == Identifying || c == QuasiIdentifier || c == SpecialCategory
}

func (c Class) valid() bool {
	for _, k := range Classes() {
		if c == k {
			return true
		}
	}
	return false
}

// Type is the JSON shape of a field's value in a citizen view.
type Type string

// The types of view values.
const (
	Text    Type = "text"    // a string
	Code    Type = "code"    // a string from a closed list (an Avro enum)
	Date    Type = "date"    // "YYYY-MM-DD"
	Money   Type = "money"   // {"cents": n, "currency": "EUR"}
	Integer Type = "integer" // a number without fraction
	Decimal Type = "decimal" // a string such as "2.50", exact
	Boolean Type = "boolean"
	List    Type = "list"   // an array of strings
	Object  Type = "object" // an object whose keys the field's doc lists
)

func (t Type) valid() bool {
	switch t {
	case Text, Code, Date, Money, Integer, Decimal, Boolean, List, Object:
		return true
	}
	return false
}

// Field is one field of the citizen view, read from a domain's record. Its
// name in the view is "<domain>.<name>".
type Field struct {
	Name  string
	Type  Type
	Class Class
	// Doc says what the value is, in a sentence.
	Doc string
	// Optional fields may have no value (JSON null): a death date, a
	// usage name.
	Optional bool
	// Keys are an Object's keys, each holding a string.
	Keys []string
	// Value reads the field from a record of the domain (a pointer of
	// its Record type). An absent optional value is nil.
	Value func(record any) any
	// Record names the fields of the Avro record the value is read from,
	// when they are not just Name: they take the field's class, and a
	// personal one is sealed on the log (Domain.Sealed).
	Record []string
}

// recordFields are the Avro record fields f reads.
func (f Field) recordFields() []string {
	if len(f.Record) > 0 {
		return f.Record
	}
	return []string{f.Name}
}

var fieldPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (f Field) validate() error {
	switch {
	case !fieldPattern.MatchString(f.Name):
		return fmt.Errorf("name %q: want lower_snake_case", f.Name)
	case !f.Type.valid():
		return fmt.Errorf("%s: type %q unknown", f.Name, f.Type)
	case !f.Class.valid():
		return fmt.Errorf("%s: class %q unknown", f.Name, f.Class)
	case f.Doc == "":
		return fmt.Errorf("%s: doc: required", f.Name)
	case f.Value == nil:
		return errors.New(f.Name + ": value: required")
	case (f.Type == Object) != (len(f.Keys) > 0):
		return fmt.Errorf("%s: keys: an object lists its keys, and only an object", f.Name)
	}
	return nil
}

// Amount is a sum in euro cents, labelled so no reader takes it for
// euros.
type Amount struct {
	Cents    int64  `json:"cents"`
	Currency string `json:"currency"`
}

// Cents is n euro cents as a view value.
func Cents(n int64) Amount { return Amount{Cents: n, Currency: "EUR"} }

// Day is a date as a view value.
func Day(t time.Time) string { return t.Format(time.DateOnly) }

// OptionalDay is Day, or nil when there is no date.
func OptionalDay(t *time.Time) any {
	if t == nil {
		return nil
	}
	return Day(*t)
}

// Exact is a decimal as a view value, with two decimals.
func Exact(r *big.Rat) string {
	if r == nil {
		return ""
	}
	return r.FloatString(2)
}
