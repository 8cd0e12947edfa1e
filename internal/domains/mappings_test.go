package domains_test

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/internal/domains/civilstatus"
	"github.com/passerelle-bus/passerelle/internal/domains/hr"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
)

func with(base connectors.Fields, k, v string) connectors.Fields {
	f := maps.Clone(base)
	if v == "<null>" {
		delete(f, k)
	} else {
		f[k] = v
	}
	return f
}

func TestFieldMappings(t *testing.T) {
	taxRow := connectors.Fields{"nir": "184077505612372", "tax_year": "2025", "household_id": "7512345678901", "role": "DECLARANT",
		"shares": "2.50", "reference_income_cents": "4215000", "taxable_income_cents": "3987600", "tax_due_cents": "231400",
		"dependants": "1", "commune_code": "2A004", "updated_at": "2026-03-01T10:00:00Z"}
	hrRow := connectors.Fields{"nir": "284072A00412387", "employer_siret": "11000601200010", "employer_name": "Ministère",
		"corps": "attachés", "grade": "attaché principal", "category": "A", "status": "TENURED", "start_date": "2011-09-01",
		"working_time_percent": "80", "gross_monthly_pay_cents": "392117", "updated_at": "2026-03-01T10:00:00Z"}
	for _, tc := range []struct {
		name string
		m    connectors.Mapping
		f    connectors.Fields
		want string // defect code, "" for valid
	}{
		{"tax valid", tax.Mapping{}, taxRow, ""},
		{"tax withholding", tax.Mapping{}, with(taxRow, "withholding_rate_bp", "580"), ""},
		{"tax bad nir key", tax.Mapping{}, with(taxRow, "nir", "184077505612373"), connectors.DefectNIR},
		{"tax missing nir", tax.Mapping{}, with(taxRow, "nir", "<null>"), connectors.DefectMissing},
		{"tax negative income", tax.Mapping{}, with(taxRow, "tax_due_cents", "-1"), connectors.DefectAmount},
		{"tax bad role", tax.Mapping{}, with(taxRow, "role", "CHILD"), connectors.DefectEnum},
		{"tax bad commune", tax.Mapping{}, with(taxRow, "commune_code", "7505"), connectors.DefectCommune},
		{"tax bad shares", tax.Mapping{}, with(taxRow, "shares", "two"), connectors.DefectAmount},
		{"hr valid", hr.Mapping{}, hrRow, ""},
		{"hr category D", hr.Mapping{}, with(hrRow, "category", "D"), connectors.DefectEnum},
		{"hr ends before it starts", hr.Mapping{}, with(hrRow, "end_date", "2010-01-01"), connectors.DefectPeriod},
		{"hr bad date", hr.Mapping{}, with(hrRow, "start_date", "2025-13-45"), connectors.DefectDate},
		{"hr part time 30", hr.Mapping{}, with(hrRow, "working_time_percent", "300"), connectors.DefectAmount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.m.Map(connectors.Row{Data: tc.f})
			if tc.want == "" {
				if err != nil || m.Meta == nil || m.NIR != tc.f["nir"] {
					t.Fatalf("valid row: %+v %v", m, err)
				}
				return
			}
			var d *connectors.Defect
			if !errors.As(err, &d) || d.Code != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}

func TestCivilStatusMapping(t *testing.T) {
	ev := map[string]any{"event_id": "EC-1", "event_type": "MARRIAGE", "recorded_at": "2026-03-01T10:00:00Z", "version": 2,
		"person": map[string]any{"nir": "284072A00412387", "family_name": "Dupont", "usage_name": "Martin", "given_names": []string{"Camille"},
			"sex": "F", "birth_date": "1984-07-02", "birth_commune": "2A004", "birth_country": "FR", "nationality": "FR",
			"marital_status": "MARRIED", "death_date": nil, "address": map[string]any{"commune_code": "75056", "postcode": "75011"}}}
	mapEv := func(mut func(p map[string]any)) (connectors.Mapped, error) {
		b, _ := json.Marshal(ev)
		var e map[string]any
		json.Unmarshal(b, &e)
		mut(e["person"].(map[string]any))
		b, _ = json.Marshal(e)
		return civilstatus.Mapping{}.Map(connectors.Row{Data: json.RawMessage(b)})
	}
	m, err := mapEv(func(map[string]any) {})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Record.(*civilstatus.Person)
	if *p.UsageName != "Martin" || *p.BirthCommune != "2A004" || p.Address.Postcode != "75011" || p.MaritalStatus != "MARRIED" {
		t.Fatalf("mapped %+v", p)
	}
	for name, tc := range map[string]struct {
		mut  func(p map[string]any)
		want string
	}{
		"no family name":    {func(p map[string]any) { p["family_name"] = "" }, connectors.DefectMissing},
		"died before birth": {func(p map[string]any) { p["death_date"] = "1970-01-01" }, connectors.DefectPeriod},
		"postcode":          {func(p map[string]any) { p["address"] = map[string]any{"commune_code": "75056", "postcode": "7501"} }, connectors.DefectCommune},
		"sex":               {func(p map[string]any) { p["sex"] = "Z" }, connectors.DefectEnum},
	} {
		_, err := mapEv(tc.mut)
		var d *connectors.Defect
		if !errors.As(err, &d) || d.Code != tc.want {
			t.Errorf("%s: got %v, want %s", name, err, tc.want)
		}
	}
}
