package datakeys

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Sealing seals a domain's records for its connector: each subject's
// data key from the ledger (new ones to publish first), and the record's
// personal fields sealed under it, with the sealed schema's id.
type Sealing struct {
	ledger *Ledger
	sealer *seal.Sealer
	plan   *fieldcrypt.Plan
	clear  *schemas.Version
	sealed *schemas.Version
}

// NewSealing seals records of subject's latest clear version, whose
// sealed schema the catalog must hold, sealing fields; key records are
// signed by sealer (the connector's).
func NewSealing(l *Ledger, sealer *seal.Sealer, subject *schemas.Subject, fields []string) (*Sealing, error) {
	clear := subject.Latest()
	sealed := subject.Sealed[clear.Version]
	if sealed == nil {
		return nil, fmt.Errorf("datakeys: %s version %d has no sealed schema in the registry", subject.Name, clear.Version)
	}
	plan, err := fieldcrypt.NewPlan(l.domain, clear.Schema, fields)
	if err != nil {
		return nil, err
	}
	if plan.Sealed().Fingerprint() != sealed.Schema.Fingerprint() {
		return nil, fmt.Errorf("datakeys: the registry's sealed schema %d is not %s version %d with %v sealed", sealed.ID, subject.Name, clear.Version, fields)
	}
	return &Sealing{ledger: l, sealer: sealer, plan: plan, clear: clear, sealed: sealed}, nil
}

// Keys returns each subject's data key, and the key records to write,
// acknowledged, before any record sealed with them.
func (s *Sealing) Keys(ctx context.Context, subjects []string) (map[string]fieldcrypt.DataKey, []bus.Message, error) {
	keys, fresh, err := s.ledger.Ensure(ctx, subjects, time.Now().UTC())
	if err != nil || len(fresh) == 0 {
		return keys, nil, err
	}
	msgs, err := Messages(ctx, s.sealer, fresh)
	return keys, msgs, err
}

// Seal returns the sealed wire value of a clear one.
func (s *Sealing) Seal(wire []byte, dk fieldcrypt.DataKey, subject, recordID string) ([]byte, error) {
	id, err := schemas.SchemaID(wire)
	if err != nil {
		return nil, err
	}
	if id != s.clear.ID {
		return nil, fmt.Errorf("datakeys: a record of schema %d, this sealing seals %d", id, s.clear.ID)
	}
	out := schemas.AppendHeader(make([]byte, 0, len(wire)+len(s.plan.Fields())*(fieldcrypt.Overhead+2)), s.sealed.ID)
	return s.plan.Seal(out, wire[schemas.HeaderSize:], dk, subject, recordID, rand.Reader)
}
