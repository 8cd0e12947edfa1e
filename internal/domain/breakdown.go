package domain

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Breakdown is a category a statistic may group or filter by, derived
// from a domain's records: the registry declares them beside the fields,
// so no endpoint hard-codes what an age band or a département is. Every
// breakdown has a closed list of categories: a filter naming another is
// refused, and a table has a known shape before any data is read.
//
// A breakdown reads a raw number from a record (Raw) and turns it into a
// category when a statistic is computed (Category): an age depends on the
// day it is computed, a decile on the whole population.
type Breakdown struct {
	// Name is the breakdown's name in the domain: "<domain>.<name>" in a
	// request.
	Name string
	Doc  string
	// Kind says how raw values become categories.
	Kind BreakdownKind
	// Categories are the labels, in their published order.
	Categories []string
	// Raw reads the record's raw value: a category index (KindOf), a day
	// number (KindAge), a number (KindRank). False if the record has none.
	Raw func(record any) (int64, bool)
	// Bands are the lower bounds, in years, of the age bands (KindAge).
	Bands []int
}

// BreakdownKind says how a breakdown's raw values become categories.
type BreakdownKind string

// The kinds of breakdown.
const (
	// KindOf: the raw value is the index of a category in a closed list.
	KindOf BreakdownKind = "category"
	// KindAge: the raw value is a birth day; the category is the age
	// band on the day of the statistic.
	KindAge BreakdownKind = "age-band"
	// KindRank: the raw value is a number; the category is its quantile
	// group (decile) among all the domain's records.
	KindRank BreakdownKind = "rank"
)

// Of declares a breakdown over a closed list: value returns the record's
// label, which must be one of categories.
func Of(name, doc string, categories []string, value func(record any) (string, bool)) Breakdown {
	index := make(map[string]int64, len(categories))
	for i, c := range categories {
		index[c] = int64(i)
	}
	return Breakdown{Name: name, Doc: doc, Kind: KindOf, Categories: categories,
		Raw: func(r any) (int64, bool) {
			v, ok := value(r)
			if !ok {
				return 0, false
			}
			i, ok := index[v]
			return i, ok
		}}
}

// AgeBands declares age bands with the given lower bounds in years
// (ascending, the first 0); born returns the record's birth date.
func AgeBands(name, doc string, bounds []int, born func(record any) (time.Time, bool)) Breakdown {
	cats := make([]string, len(bounds))
	for i, lo := range bounds {
		if i+1 < len(bounds) {
			cats[i] = strconv.Itoa(lo) + "-" + strconv.Itoa(bounds[i+1]-1)
		} else {
			cats[i] = strconv.Itoa(lo) + "+"
		}
	}
	return Breakdown{Name: name, Doc: doc, Kind: KindAge, Categories: cats, Bands: bounds,
		Raw: func(r any) (int64, bool) {
			t, ok := born(r)
			if !ok {
				return 0, false
			}
			return dayNumber(t), true
		}}
}

// Deciles declares the decile groups (D1 to D10) of a numeric value.
func Deciles(name, doc string, value func(record any) (int64, bool)) Breakdown {
	cats := make([]string, 10)
	for i := range cats {
		cats[i] = "D" + strconv.Itoa(i+1)
	}
	return Breakdown{Name: name, Doc: doc, Kind: KindRank, Categories: cats, Raw: value}
}

// dayNumber counts days since 1970-01-01, the unit of KindAge raw values.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Age returns the category index of a KindAge raw value (a birth day) on
// day, or false if born after day.
func (b *Breakdown) Age(born int64, day time.Time) (int, bool) {
	bt := time.Unix(born*86400, 0).UTC()
	y, m, d := day.Date()
	age := y - bt.Year()
	if m < bt.Month() || (m == bt.Month() && d < bt.Day()) {
		age--
	}
	if age < 0 {
		return 0, false
	}
	cat := 0
	for i, lo := range b.Bands {
		if age >= lo {
			cat = i
		}
	}
	return cat, true
}

// Category returns the index of label, or false.
func (b *Breakdown) Category(label string) (int, bool) {
	for i, c := range b.Categories {
		if c == label {
			return i, true
		}
	}
	return 0, false
}

func (b *Breakdown) validate() error {
	switch {
	case !fieldPattern.MatchString(b.Name):
		return fmt.Errorf("name %q: want lower_snake_case", b.Name)
	case b.Doc == "":
		return fmt.Errorf("%s: doc: required", b.Name)
	case len(b.Categories) < 2:
		return fmt.Errorf("%s: categories: at least two", b.Name)
	case b.Raw == nil:
		return errors.New(b.Name + ": raw: required; use Of, AgeBands or Deciles")
	}
	switch b.Kind {
	case KindOf, KindRank:
	case KindAge:
		if len(b.Bands) != len(b.Categories) || b.Bands[0] != 0 {
			return fmt.Errorf("%s: bands: one per category, the first 0", b.Name)
		}
		for i := 1; i < len(b.Bands); i++ {
			if b.Bands[i] <= b.Bands[i-1] {
				return fmt.Errorf("%s: bands: must ascend", b.Name)
			}
		}
	default:
		return fmt.Errorf("%s: kind %q unknown", b.Name, b.Kind)
	}
	seen := map[string]bool{}
	for _, c := range b.Categories {
		if c == "" || seen[c] {
			return fmt.Errorf("%s: categories: %q empty or listed twice", b.Name, c)
		}
		seen[c] = true
	}
	return nil
}

// Number reads a numeric field (Money in cents, Integer) from a record:
// the measures a statistic sums. False if the field is not numeric or the
// record has no value.
func (f Field) Number(record any) (int64, bool) {
	switch v := f.Value(record).(type) {
	case Amount:
		return v.Cents, true
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case *int32:
		if v != nil {
			return int64(*v), true
		}
	case *int64:
		if v != nil {
			return *v, true
		}
	}
	return 0, false
}

// Numeric reports whether a statistic may sum the field.
func (f Field) Numeric() bool { return f.Type == Money || f.Type == Integer }

// Departments lists the départements, as the first characters of an INSEE
// commune code name them: 01 to 95 with Corsica's 2A and 2B, and the
// overseas 971 to 976 (975 is a collectivity, not a département).
func Departments() []string {
	var out []string
	for i := 1; i <= 95; i++ {
		switch i {
		case 20:
			out = append(out, "2A", "2B")
		default:
			out = append(out, fmt.Sprintf("%02d", i))
		}
	}
	return append(out, "971", "972", "973", "974", "976")
}

// Department returns the département of an INSEE commune code.
func Department(commune string) (string, bool) {
	if len(commune) != 5 {
		return "", false
	}
	if commune[:2] == "97" {
		return commune[:3], true
	}
	return commune[:2], true
}
