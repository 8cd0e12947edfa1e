package health_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/internal/domains/health"
)

const bundle = `{"resourceType":"Bundle","type":"collection","entry":[
 {"resource":{"resourceType":"Patient","id":"p-1","identifier":[{"system":"urn:oid:1.2.250.1.213.1.4.8","value":"184077505612372"}]}},
 {"resource":{"resourceType":"Coverage","id":"c-1","status":"active","beneficiary":{"reference":"Patient/p-1"},
  "type":{"coding":[{"system":"https://passerelle.invalid/fhir/CodeSystem/coverage-type","code":"BASIC"}]},
  "class":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/coverage-class","code":"plan"}]},"value":"GENERAL"}],
  "period":{"start":"2002-01-01"},"payor":[{"display":"CPAM 75"}],
  "extension":[{"url":"https://passerelle.invalid/fhir/StructureDefinition/long-term-condition","valueBoolean":true},
               {"url":"https://passerelle.invalid/fhir/StructureDefinition/declared-gp","valueBoolean":false}]}},
 {"resource":{"resourceType":"Coverage","id":"c-2","status":"active","beneficiary":{"reference":"Patient/p-404"},
  "type":{"coding":[{"code":"BASIC"}]},"class":[{"type":{"coding":[{"code":"plan"}]},"value":"GENERAL"}],"period":{"start":"2002-01-01"}}},
 {"resource":{"resourceType":"Coverage","id":"c-3","status":"active","beneficiary":{"reference":"Patient/p-1"},
  "type":{"coding":[{"code":"BASIC"}]},"class":[{"type":{"coding":[{"code":"plan"}]},"value":"GENERAL"}],"period":{"start":"2010-01-01","end":"2001-01-01"}}}
]}`

func TestBundleMapping(t *testing.T) {
	rows, err := health.Bundles{}.Parse("b.json", []byte(bundle))
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	m, err := health.Mapping{}.Map(rows[0])
	if err != nil {
		t.Fatal(err)
	}
	c := m.Record.(*health.Coverage)
	if m.NIR != "184077505612372" || c.Scheme != "GENERAL" || c.CoverageType != "BASIC" || !c.LongTermCondition || c.DeclaredGP || c.EndDate != nil {
		t.Fatalf("mapped %+v", c)
	}
	for i, want := range map[int]string{1: connectors.DefectMissing, 2: connectors.DefectPeriod} {
		_, err := health.Mapping{}.Map(rows[i])
		var d *connectors.Defect
		if !errors.As(err, &d) || d.Code != want {
			t.Errorf("row %d: %v, want %s", i, err, want)
		}
	}
	if _, err := (health.Bundles{}).Parse("x", []byte(`{"resourceType":"Patient"}`)); err == nil || !strings.Contains(err.Error(), "Bundle") {
		t.Fatalf("a Patient file was taken for a bundle: %v", err)
	}
}

func FuzzBundles(f *testing.F) {
	f.Add([]byte(bundle))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := health.Bundles{}.Parse("f", b)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Err == nil {
				health.Mapping{}.Map(r) // must not panic
			}
		}
	})
}
