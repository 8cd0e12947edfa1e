// Package pensions is the pension fund's domain: each retired citizen's
// basic pension entitlement under the general scheme — its terms and the
// monthly amounts paid — read from the fund's PostgreSQL table
// pension_entitlement.
package pensions

import (
	"embed"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/schemas"
)

//go:embed registry.yaml *.avsc
var schemaFiles embed.FS

// Domain describes the pensions domain.
func Domain() *domain.Domain {
	return &domain.Domain{
		Name: "pensions", Entity: "entitlement",
		Doc:        "A citizen's basic retirement pension as the pension fund pays it: its terms and monthly amounts.",
		Publisher:  domain.Member{ID: "cnav", Name: "Caisse nationale d'assurance vieillesse"},
		Schemas:    schemaFiles,
		Record:     domain.RecordOf(func(e *Entitlement) *schemas.Meta { return &e.Meta }),
		Fields:     fields(),
		Breakdowns: breakdowns(),
		Mapping:    Mapping{},
		Source:     domain.Source{Table: &Table},
		Synth:      source,
		Sample:     sample,
	}
}
