package datakeys

import (
	"context"
	"fmt"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Opener opens sealed records with the keys of its ledgers, for a
// gateway's view (view.Opener).
type Opener struct {
	cat     *schemas.Catalog
	ledgers map[string]*Ledger
	plans   map[int]*fieldcrypt.Plan // by sealed schema id
}

// NewOpener opens, for each domain ledgers holds, the sealed schemas of
// the catalog, sealing the fields the domain registry says.
func NewOpener(cat *schemas.Catalog, ledgers map[string]*Ledger) (*Opener, error) {
	o := &Opener{cat: cat, ledgers: ledgers, plans: map[int]*fieldcrypt.Plan{}}
	for name := range ledgers {
		d, ok := domains.ByName(name)
		if !ok {
			return nil, fmt.Errorf("datakeys: unknown domain %q", name)
		}
		sub, err := cat.Subject(d.Subject())
		if err != nil {
			return nil, err
		}
		for _, v := range sub.Sealed {
			plan, err := fieldcrypt.NewPlan(name, v.Seals.Schema, d.Sealed())
			if err != nil {
				return nil, err
			}
			if plan.Sealed().Fingerprint() != v.Schema.Fingerprint() {
				return nil, fmt.Errorf("datakeys: sealed schema %d of %s does not seal %v", v.ID, name, d.Sealed())
			}
			o.plans[v.ID] = plan
		}
	}
	return o, nil
}

// Open returns the clear wire value of a sealed record of domain, whose
// meta the caller read (schemas.Codec.DecodeMeta). Errors: a key erased
// wraps fieldcrypt.ErrShredded; a moved, swapped or altered envelope, or
// a key the subject never had, fieldcrypt.ErrForged or ErrForged; the
// KEK out of reach kek.ErrUnavailable.
func (o *Opener) Open(ctx context.Context, domain string, wire []byte, meta *schemas.Meta) ([]byte, error) {
	l := o.ledgers[domain]
	if l == nil {
		return nil, fmt.Errorf("datakeys: no keys of domain %s here", domain)
	}
	id, err := schemas.SchemaID(wire)
	if err != nil {
		return nil, err
	}
	plan := o.plans[id]
	v, err := o.cat.ByID(id)
	if err != nil || plan == nil || v.Seals == nil {
		return nil, fmt.Errorf("datakeys: schema id %d of %s is not a sealed schema: %w", id, domain, schemas.ErrUnknownSchemaID)
	}
	out := schemas.AppendHeader(make([]byte, 0, len(wire)), v.Seals.ID)
	return plan.Open(out, wire[schemas.HeaderSize:], meta.Subject, meta.RecordID, func(kid fieldcrypt.KeyID) ([32]byte, error) {
		return l.Key(ctx, meta.Subject, kid)
	})
}
