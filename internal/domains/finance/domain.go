// Package finance is the benefits payer's domain: the latest benefit
// payment to each citizen, read from the CSV ledger files the payer drops.
package finance

import (
	"embed"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/schemas"
)

//go:embed registry.yaml *.avsc
var schemaFiles embed.FS

// Domain describes the finance domain.
func Domain() *domain.Domain {
	return &domain.Domain{
		Name: "finance", Entity: "payment",
		Doc:       "The latest benefit payment made to a citizen by the benefits payer.",
		Publisher: domain.Member{ID: "cnaf", Name: "Caisse nationale des allocations familiales"},
		Schemas:   schemaFiles,
		Record:    domain.RecordOf(func(p *Payment) *schemas.Meta { return &p.Meta }),
		Fields:    fields(),
		// A payment id names one payment in the payer's books: with them, a person.
		Unviewed:   map[string]domain.Class{"payment_id": domain.Identifying},
		Breakdowns: breakdowns(),
		Ages:       true, // a payment is for one month
		Mapping:    Mapping{},
		Source:     domain.Source{Files: &domain.FileDrop{Pattern: "*.csv", Parser: Layout}},
		Synth: func(p *synth.Population) synth.Source {
			return synth.Source{Manifest: p.Manifest[synth.DomainFinance],
				WriteFiles: func(dir string) error { return synth.WriteFinance(dir, p) }}
		},
		Sample: sample,
	}
}
