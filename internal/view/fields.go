package view

import (
	"strings"

	"github.com/passerelle-bus/passerelle/internal/domains"
)

// Field returns the value of a view field ("tax.reference_income") from a
// record of its domain, as the domain's field catalogue reads it: money in
// integer cents, dates as YYYY-MM-DD, decimals as strings.
func Field(r Record, name string) (any, bool) {
	dn, fn, _ := strings.Cut(name, ".")
	if dn != r.Domain {
		return nil, false
	}
	d, ok := domains.ByName(dn)
	if !ok {
		return nil, false
	}
	f, ok := d.Field(fn)
	if !ok {
		return nil, false
	}
	return f.Value(r.Value), true
}
