// Package civilstatus is the civil-status register's domain: each person's
// state after their births, marriages, deaths and address changes, read
// from the register's event drops (JSON Lines, each event carrying the
// person's state after it).
package civilstatus

import (
	"embed"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/schemas"
)

//go:embed registry.yaml *.avsc
var schemaFiles embed.FS

// Domain describes the civil-status domain.
func Domain() *domain.Domain {
	return &domain.Domain{
		Name: "civilstatus", Entity: "person",
		Doc:        "A person as the civil-status registry knows them: the latest state after births, marriages, deaths and address changes.",
		Publisher:  domain.Member{ID: "insee", Name: "INSEE — Répertoire national d'identification des personnes physiques"},
		Schemas:    schemaFiles,
		Record:     domain.RecordOf(func(p *Person) *schemas.Meta { return &p.Meta }),
		Fields:     fields(),
		Breakdowns: breakdowns(),
		Mapping:    Mapping{},
		Source:     domain.Source{Files: &domain.FileDrop{Pattern: "*.jsonl", Parser: Layout}},
		Synth: func(p *synth.Population) synth.Source {
			return synth.Source{Manifest: p.Manifest[synth.DomainCivilStatus],
				WriteFiles: func(dir string) error { return synth.WriteCivilStatus(dir, p) }}
		},
		Sample: sample,
	}
}
