package connectors

import (
	"errors"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

// Check validates the fields of one row, keeping the first defect: a
// mapping reads like the record it builds, one field a line, and asks
// Err once at the end. Defects name the field, never a personal value.
type Check struct{ err error }

// Err is the first defect found, or nil.
func (c *Check) Err() error { return c.err }

func (c *Check) fail(code, field, format string, args ...any) {
	if c.err == nil {
		c.err = Defectf(code, field, format, args...)
	}
}

// NIR checks a national identifier.
func (c *Check) NIR(field, v string) string {
	if v == "" {
		c.fail(DefectMissing, field, "required")
		return ""
	}
	if err := pseudo.ValidateNIR(v); err != nil {
		msg := "malformed"
		if errors.Is(err, pseudo.ErrNIRKey) {
			msg = "key does not match"
		}
		c.fail(DefectNIR, field, "%s", msg)
	}
	return v
}

// Required returns v, or records a missing field.
func (c *Check) Required(field, v string) string {
	if strings.TrimSpace(v) == "" {
		c.fail(DefectMissing, field, "required")
	}
	return v
}

// Optional returns nil for "".
func (c *Check) Optional(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// Date parses YYYY-MM-DD.
func (c *Check) Date(field, v string) time.Time {
	if v == "" {
		c.fail(DefectMissing, field, "required")
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		c.fail(DefectDate, field, "%q is not a YYYY-MM-DD date", v)
	}
	return t
}

// OptionalDate parses YYYY-MM-DD, or returns nil for "".
func (c *Check) OptionalDate(field, v string) *time.Time {
	if v == "" {
		return nil
	}
	t := c.Date(field, v)
	return &t
}

// Timestamp parses RFC 3339.
func (c *Check) Timestamp(field, v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		c.fail(DefectDate, field, "%q is not an RFC 3339 time", v)
	}
	return t
}

// Period checks that end, when set, is not before start.
func (c *Check) Period(field string, start time.Time, end *time.Time) {
	if end != nil && end.Before(start) {
		c.fail(DefectPeriod, field, "ends %s, before it starts %s", end.Format(time.DateOnly), start.Format(time.DateOnly))
	}
}

var (
	communeRE  = regexp.MustCompile(`^([0-9]{5}|2[AB][0-9]{3})$`)
	postcodeRE = regexp.MustCompile(`^[0-9]{5}$`)
)

// Pattern checks v against re; what names the expected shape.
func (c *Check) Pattern(field, v string, re *regexp.Regexp, what string) string {
	if !re.MatchString(v) {
		c.fail(DefectMissing, field, "%q is not %s", v, what)
	}
	return v
}

// Commune checks an INSEE commune code (5 digits, or 2A/2B and 3 digits).
func (c *Check) Commune(field, v string) string {
	if !communeRE.MatchString(v) {
		c.fail(DefectCommune, field, "%q is not an INSEE commune code", v)
	}
	return v
}

// Postcode checks a French postcode.
func (c *Check) Postcode(field, v string) string {
	if !postcodeRE.MatchString(v) {
		c.fail(DefectCommune, field, "%q is not a postcode", v)
	}
	return v
}

// Enum checks that v is one of symbols.
func (c *Check) Enum(field, v string, symbols ...string) string {
	if !slices.Contains(symbols, v) {
		c.fail(DefectEnum, field, "%q is not one of %s", v, strings.Join(symbols, ", "))
	}
	return v
}

// Int parses an integer.
func (c *Check) Int(field, v string) int64 {
	if v == "" {
		c.fail(DefectMissing, field, "required")
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		c.fail(DefectAmount, field, "%q is not an integer", v)
	}
	return n
}

// OptionalInt parses an integer, or returns nil for "".
func (c *Check) OptionalInt(field, v string) *int32 {
	if v == "" {
		return nil
	}
	n := int32(c.Int(field, v))
	return &n
}

// Cents parses a non-negative amount in euro cents.
func (c *Check) Cents(field, v string) int64 {
	n := c.Int(field, v)
	if n < 0 {
		c.fail(DefectAmount, field, "%d is negative", n)
	}
	return n
}

// Range checks lo <= n <= hi.
func (c *Check) Range(field string, n, lo, hi int64) int64 {
	if n < lo || n > hi {
		c.fail(DefectAmount, field, "%d is outside %d..%d", n, lo, hi)
	}
	return n
}

// Decimal parses a non-negative decimal such as "2.50".
func (c *Check) Decimal(field, v string) *big.Rat {
	r, ok := new(big.Rat).SetString(v)
	if !ok || r.Sign() < 0 {
		c.fail(DefectAmount, field, "%q is not a non-negative decimal", v)
		return new(big.Rat)
	}
	return r
}
