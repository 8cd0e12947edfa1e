// Package tax is the tax office's domain: each citizen's tax household for
// one income year, read from the office's PostgreSQL table
// household_assessment.
package tax

import (
	"embed"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/schemas"
)

//go:embed registry.yaml *.avsc
var schemaFiles embed.FS

// Domain describes the tax domain.
func Domain() *domain.Domain {
	return &domain.Domain{
		Name: "tax", Entity: "household",
		Doc:        "A citizen's tax household for one income year, as assessed by the tax office.",
		Publisher:  domain.Member{ID: "dgfip", Name: "Direction générale des Finances publiques"},
		Schemas:    schemaFiles,
		Record:     domain.RecordOf(func(h *Household) *schemas.Meta { return &h.Meta }),
		Fields:     fields(),
		Unviewed:   map[string]domain.Class{"withholding_rate_bp": domain.Measure},
		Breakdowns: breakdowns(),
		Ages:       true, // an assessment is about one income year
		Mapping:    Mapping{},
		Source:     domain.Source{Table: &Table},
		Synth: func(p *synth.Population) synth.Source {
			t := synth.TaxTable(p)
			return synth.Source{Manifest: p.Manifest[synth.DomainTax], Table: &t}
		},
		Sample: sample,
	}
}
