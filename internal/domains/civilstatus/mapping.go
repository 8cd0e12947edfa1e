package civilstatus

import (
	"encoding/json"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/filedrop"
)

// Layout parses the register's event files.
var Layout = filedrop.JSONLines{Key: "event_id", Version: "version"}

type event struct {
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	RecordedAt string `json:"recorded_at"`
	Person     struct {
		NIR           string   `json:"nir"`
		FamilyName    string   `json:"family_name"`
		UsageName     *string  `json:"usage_name"`
		GivenNames    []string `json:"given_names"`
		Sex           string   `json:"sex"`
		BirthDate     string   `json:"birth_date"`
		BirthCommune  *string  `json:"birth_commune"`
		BirthCountry  string   `json:"birth_country"`
		Nationality   string   `json:"nationality"`
		MaritalStatus string   `json:"marital_status"`
		DeathDate     *string  `json:"death_date"`
		Address       *struct {
			CommuneCode string `json:"commune_code"`
			Postcode    string `json:"postcode"`
		} `json:"address"`
	} `json:"person"`
}

// Mapping implements connectors.Mapping.
type Mapping struct{}

// Map implements connectors.Mapping.
func (Mapping) Map(row connectors.Row) (connectors.Mapped, error) {
	var ev event
	if err := json.Unmarshal(row.Data.(json.RawMessage), &ev); err != nil {
		return connectors.Mapped{}, connectors.Defectf(connectors.DefectRow, "", "%v", err)
	}
	var c connectors.Check
	in := ev.Person
	p := &Person{}
	c.Required("event_id", ev.EventID)
	c.Enum("event_type", ev.EventType, "BIRTH", "MARRIAGE", "DEATH", "ADDRESS")
	recorded := c.Timestamp("recorded_at", ev.RecordedAt)
	nir := c.NIR("person.nir", in.NIR)
	p.FamilyName = c.Required("person.family_name", in.FamilyName)
	p.UsageName = in.UsageName
	p.GivenNames = in.GivenNames
	if len(p.GivenNames) == 0 {
		c.Required("person.given_names", "")
	}
	p.Sex = c.Enum("person.sex", in.Sex, "F", "M")
	p.BirthDate = c.Date("person.birth_date", in.BirthDate)
	if in.BirthCommune != nil {
		code := c.Commune("person.birth_commune", *in.BirthCommune)
		p.BirthCommune = &code
	}
	p.BirthCountry = c.Required("person.birth_country", in.BirthCountry)
	p.Nationality = c.Required("person.nationality", in.Nationality)
	p.MaritalStatus = c.Enum("person.marital_status", in.MaritalStatus, "SINGLE", "MARRIED", "CIVIL_PARTNERSHIP", "DIVORCED", "WIDOWED")
	if in.DeathDate != nil {
		p.DeathDate = c.OptionalDate("person.death_date", *in.DeathDate)
		c.Period("person.death_date", p.BirthDate, p.DeathDate)
	}
	if a := in.Address; a != nil {
		p.Address = &Address{
			CommuneCode: c.Commune("person.address.commune_code", a.CommuneCode),
			Postcode:    c.Postcode("person.address.postcode", a.Postcode),
		}
	}
	if err := c.Err(); err != nil {
		return connectors.Mapped{}, err
	}
	return connectors.Mapped{NIR: nir, EventTime: recorded, Record: p, Meta: &p.Meta}, nil
}

var _ connectors.Mapping = Mapping{}
