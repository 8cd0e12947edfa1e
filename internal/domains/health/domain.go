// Package health is the health insurer's domain: each citizen's coverage,
// read from the FHIR R4 bundles (Patient and Coverage) the insurer drops.
// Every field is a special category: publishing it is the connector's job;
// releasing it is the policy's, only with consent or a named legal
// exception.
package health

import (
	"embed"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/schemas"
)

//go:embed registry.yaml *.avsc
var schemaFiles embed.FS

// Domain describes the health domain.
func Domain() *domain.Domain {
	return &domain.Domain{
		Name: "health", Entity: "coverage",
		Doc:       "A citizen's health-insurance coverage.",
		Publisher: domain.Member{ID: "cnam", Name: "Caisse nationale de l'Assurance maladie"},
		Schemas:   schemaFiles,
		Record:    domain.RecordOf(func(c *Coverage) *schemas.Meta { return &c.Meta }),
		Fields:    fields(),
		Mapping:   Mapping{},
		Source:    domain.Source{Files: &domain.FileDrop{Pattern: "*.json", Parser: Bundles{}}},
		Synth: func(p *synth.Population) synth.Source {
			return synth.Source{Manifest: p.Manifest[synth.DomainHealth],
				WriteFiles: func(dir string) error { return synth.WriteHealth(dir, p) }}
		},
		Sample: sample,
	}
}
