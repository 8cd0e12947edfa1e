package health

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/passerelle-bus/passerelle/connectors"
)

// NIRSystem is the FHIR identifier system of the French NIR (INS-NIR).
const NIRSystem = "urn:oid:1.2.250.1.213.1.4.8"

// Extension URLs of the coverage flags.
const (
	extLongTerm = "https://passerelle.invalid/fhir/StructureDefinition/long-term-condition"
	extGP       = "https://passerelle.invalid/fhir/StructureDefinition/declared-gp"
)

type resource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

type patient struct {
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
}

// coverage is the part of a FHIR R4 Coverage the mapping reads.
type coverage struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Beneficiary struct {
		Reference string `json:"reference"`
	} `json:"beneficiary"`
	Type struct {
		Coding []struct {
			Code string `json:"code"`
		} `json:"coding"`
	} `json:"type"`
	Class []struct {
		Type struct {
			Coding []struct {
				Code string `json:"code"`
			} `json:"coding"`
		} `json:"type"`
		Value string `json:"value"`
	} `json:"class"`
	Period struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
	Extension []struct {
		URL          string `json:"url"`
		ValueBoolean *bool  `json:"valueBoolean"`
	} `json:"extension"`
}

// entry is one Coverage with the NIR of its beneficiary.
type entry struct {
	NIR      string
	Coverage coverage
}

// Bundles parses FHIR R4 Bundles of Patient and Coverage resources: one row
// per Coverage.
type Bundles struct{}

// Parse implements filedrop.Parser.
func (Bundles) Parse(_ string, content []byte) ([]connectors.Row, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(content, &b); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, fmt.Errorf("resourceType %q, want Bundle", b.ResourceType)
	}
	nirs := map[string]string{} // Patient id → NIR
	for _, e := range b.Entry {
		var r resource
		if json.Unmarshal(e.Resource, &r) != nil || r.ResourceType != "Patient" {
			continue
		}
		var p patient
		_ = json.Unmarshal(e.Resource, &p)
		for _, id := range p.Identifier {
			if id.System == NIRSystem {
				nirs[r.ID] = id.Value
			}
		}
	}
	var rows []connectors.Row
	for i, e := range b.Entry {
		var r resource
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			rows = append(rows, connectors.Row{Key: fmt.Sprintf("entry %d", i), Raw: e.Resource,
				Err: connectors.Defectf(connectors.DefectRow, "", "entry %d: %v", i, err)})
			continue
		}
		if r.ResourceType != "Coverage" {
			continue
		}
		row := connectors.Row{Key: r.ID, Raw: e.Resource}
		var c coverage
		if err := json.Unmarshal(e.Resource, &c); err != nil {
			row.Err = connectors.Defectf(connectors.DefectRow, "", "Coverage %s: %v", r.ID, err)
		} else {
			ref, _ := strings.CutPrefix(c.Beneficiary.Reference, "Patient/")
			nir := nirs[ref]
			h := sha256.Sum256(append(append([]byte(nir), 0), e.Resource...))
			row.Version = hex.EncodeToString(h[:8])
			row.Data = entry{NIR: nir, Coverage: c}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
