package health

import (
	"github.com/passerelle-bus/passerelle/connectors"
)

// Mapping implements connectors.Mapping.
type Mapping struct{}

// Map implements connectors.Mapping.
func (Mapping) Map(row connectors.Row) (connectors.Mapped, error) {
	e := row.Data.(entry)
	in := e.Coverage
	var c connectors.Check
	out := &Coverage{}
	nir := c.NIR("beneficiary.identifier", e.NIR)
	c.Enum("status", in.Status, "active", "cancelled")
	code := ""
	if len(in.Type.Coding) > 0 {
		code = in.Type.Coding[0].Code
	}
	out.CoverageType = c.Enum("type.coding.code", code, "BASIC", "COMPLEMENTARY_SOLIDARITY", "STATE_MEDICAL_AID")
	scheme := ""
	for _, cl := range in.Class {
		if len(cl.Type.Coding) > 0 && cl.Type.Coding[0].Code == "plan" {
			scheme = cl.Value
		}
	}
	out.Scheme = c.Enum("class[plan].value", scheme, "GENERAL", "AGRICULTURAL", "SPECIAL")
	out.StartDate = c.Date("period.start", in.Period.Start)
	out.EndDate = c.OptionalDate("period.end", in.Period.End)
	c.Period("period.end", out.StartDate, out.EndDate)
	for _, x := range in.Extension {
		if x.ValueBoolean == nil {
			continue
		}
		switch x.URL {
		case extLongTerm:
			out.LongTermCondition = *x.ValueBoolean
		case extGP:
			out.DeclaredGP = *x.ValueBoolean
		}
	}
	if err := c.Err(); err != nil {
		return connectors.Mapped{}, err
	}
	return connectors.Mapped{NIR: nir, EventTime: out.StartDate, Record: out, Meta: &out.Meta}, nil
}

var _ connectors.Mapping = Mapping{}
