// Package hr is public-service HR's domain: each citizen's current
// employment in the public service, read from the payroll's PostgreSQL
// table employment.
package hr

import (
	"embed"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/schemas"
)

//go:embed registry.yaml *.avsc
var schemaFiles embed.FS

// Domain describes the HR domain.
func Domain() *domain.Domain {
	return &domain.Domain{
		Name: "hr", Entity: "employment",
		Doc:        "A citizen's current employment in the public service, as the payroll system knows it.",
		Publisher:  domain.Member{ID: "dgafp", Name: "Direction générale de l'administration et de la fonction publique"},
		Schemas:    schemaFiles,
		Record:     domain.RecordOf(func(e *Employment) *schemas.Meta { return &e.Meta }),
		Fields:     fields(),
		Breakdowns: breakdowns(),
		Mapping:    Mapping{},
		Source:     domain.Source{Table: &Table},
		Synth: func(p *synth.Population) synth.Source {
			t := synth.HRTable(p)
			return synth.Source{Manifest: p.Manifest[synth.DomainHR], Table: &t}
		},
		Sample: sample,
	}
}
