package civilstatus

import "github.com/passerelle-bus/passerelle/internal/domain"

func person(r any) *Person { return r.(*Person) }

// fields are the civil-status domain's fields of the citizen view, in
// published order: add at the end.
func fields() []domain.Field {
	return []domain.Field{
		{Name: "family_name", Type: domain.Text, Class: domain.Identifying, Doc: "Nom de naissance.",
			Value: func(r any) any { return person(r).FamilyName }},
		{Name: "usage_name", Type: domain.Text, Class: domain.Identifying, Optional: true, Doc: "Nom d'usage when different from the family name, else null.",
			Value: func(r any) any { return person(r).UsageName }},
		{Name: "given_names", Type: domain.List, Class: domain.Identifying, Doc: "Prénoms, in civil order.",
			Value: func(r any) any { return person(r).GivenNames }},
		{Name: "sex", Type: domain.Code, Class: domain.QuasiIdentifier, Doc: "F or M, as registered.",
			Value: func(r any) any { return person(r).Sex }},
		{Name: "birth_date", Type: domain.Date, Class: domain.QuasiIdentifier, Doc: "Date of birth.",
			Value: func(r any) any { return domain.Day(person(r).BirthDate) }},
		{Name: "birth_commune", Type: domain.Code, Class: domain.QuasiIdentifier, Optional: true, Doc: "INSEE code of the commune of birth in France; null for a birth abroad.",
			Value: func(r any) any { return person(r).BirthCommune }},
		{Name: "birth_country", Type: domain.Code, Class: domain.QuasiIdentifier, Doc: "ISO 3166-1 alpha-2 country of birth.",
			Value: func(r any) any { return person(r).BirthCountry }},
		{Name: "nationality", Type: domain.Code, Class: domain.QuasiIdentifier, Doc: "ISO 3166-1 alpha-2 nationality.",
			Value: func(r any) any { return person(r).Nationality }},
		{Name: "marital_status", Type: domain.Code, Class: domain.Dimension, Doc: "SINGLE, MARRIED, CIVIL_PARTNERSHIP, DIVORCED or WIDOWED.",
			Value: func(r any) any { return person(r).MaritalStatus }},
		{Name: "death_date", Type: domain.Date, Class: domain.QuasiIdentifier, Optional: true, Doc: "Date of death; null while alive.",
			Value: func(r any) any { return domain.OptionalDay(person(r).DeathDate) }},
		{Name: "address", Type: domain.Object, Class: domain.QuasiIdentifier, Optional: true, Keys: []string{"commune_code", "postcode"},
			Doc: "The registered address: its commune's INSEE code and its postcode; null when none.",
			Value: func(r any) any {
				a := person(r).Address
				if a == nil {
					return nil
				}
				return map[string]string{"commune_code": a.CommuneCode, "postcode": a.Postcode}
			}},
	}
}
