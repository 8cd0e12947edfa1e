package civilstatus

import (
	"time"

	"github.com/passerelle-bus/passerelle/schemas"
)

// The Go mirror of the .avsc beside this file, field by field: enums are
// strings holding the symbol, optional fields pointers, money integer euro
// cents.

// Person is passerelle.civilstatus.Person.
type Person struct {
	Meta          schemas.Meta `avro:"meta"`
	FamilyName    string       `avro:"family_name"`
	UsageName     *string      `avro:"usage_name"`
	GivenNames    []string     `avro:"given_names"`
	Sex           string       `avro:"sex"`
	BirthDate     time.Time    `avro:"birth_date"`
	BirthCommune  *string      `avro:"birth_commune"`
	BirthCountry  string       `avro:"birth_country"`
	Nationality   string       `avro:"nationality"`
	MaritalStatus string       `avro:"marital_status"`
	DeathDate     *time.Time   `avro:"death_date"`
	Address       *Address     `avro:"address"`
}

// Address is passerelle.civilstatus.Address.
type Address struct {
	CommuneCode string `avro:"commune_code"`
	Postcode    string `avro:"postcode"`
}
