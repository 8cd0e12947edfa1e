package civilstatus

import "github.com/passerelle-bus/passerelle/internal/domain"

func sample() any {
	usage, commune := "Martin", "2A004"
	return &Person{
		Meta: domain.SampleMeta("civilstatus"), FamilyName: "Dupont", UsageName: &usage,
		GivenNames: []string{"Camille", "Marie"}, Sex: "F", BirthDate: domain.SampleDay("1984-07-02"),
		BirthCommune: &commune, BirthCountry: "FR", Nationality: "FR", MaritalStatus: "MARRIED",
		Address: &Address{CommuneCode: "75056", Postcode: "75011"},
	}
}
