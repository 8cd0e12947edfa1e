package hr

import (
	"regexp"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/sqlpoll"
)

// Table is how the connector reads the payroll database.
var Table = sqlpoll.Config{
	Table: "employment", Key: "id", Version: "updated_at",
	Columns: []string{"nir", "employer_siret", "employer_name", "corps", "grade", "category", "status",
		"start_date", "end_date", "working_time_percent", "gross_monthly_pay_cents", "updated_at"},
}

var siretRE = regexp.MustCompile(`^[0-9]{14}$`)

// Mapping implements connectors.Mapping.
type Mapping struct{}

// Map implements connectors.Mapping.
func (Mapping) Map(row connectors.Row) (connectors.Mapped, error) {
	f := row.Data.(connectors.Fields)
	var c connectors.Check
	e := &Employment{}
	nir := c.NIR("nir", f["nir"])
	e.EmployerSIRET = c.Pattern("employer_siret", f["employer_siret"], siretRE, "a 14-digit SIRET")
	e.EmployerName = c.Required("employer_name", f["employer_name"])
	e.Corps = c.Required("corps", f["corps"])
	e.Grade = c.Required("grade", f["grade"])
	e.Category = c.Enum("category", f["category"], "A", "B", "C")
	e.Status = c.Enum("status", f["status"], "TENURED", "TRAINEE", "CONTRACT")
	e.StartDate = c.Date("start_date", f["start_date"])
	e.EndDate = c.OptionalDate("end_date", f["end_date"])
	c.Period("end_date", e.StartDate, e.EndDate)
	e.WorkingTimePercent = int32(c.Range("working_time_percent", c.Int("working_time_percent", f["working_time_percent"]), 10, 100))
	e.GrossMonthlyPayCents = c.Cents("gross_monthly_pay_cents", f["gross_monthly_pay_cents"])
	updated := c.Timestamp("updated_at", f["updated_at"])
	if err := c.Err(); err != nil {
		return connectors.Mapped{}, err
	}
	return connectors.Mapped{NIR: nir, EventTime: updated, Record: e, Meta: &e.Meta}, nil
}

var _ connectors.Mapping = Mapping{}
