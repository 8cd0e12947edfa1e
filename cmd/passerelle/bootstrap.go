package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/keyfile"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// demoMembers are the synthetic administrations of the demo: one publisher
// per domain, a statistics office, the data-protection authority and the
// citizens' portal.
var demoMembers = []trust.MemberSpec{
	{ID: "insee", Name: "INSEE — Répertoire national d'identification des personnes physiques", Roles: []string{"publisher:civilstatus", "reader"}},
	{ID: "dgfip", Name: "Direction générale des Finances publiques", Roles: []string{"publisher:tax", "reader"}},
	{ID: "dgafp", Name: "Direction générale de l'administration et de la fonction publique", Roles: []string{"publisher:hr", "reader"}},
	{ID: "cnaf", Name: "Caisse nationale des allocations familiales", Roles: []string{"publisher:finance", "reader"}},
	{ID: "cnam", Name: "Caisse nationale de l'Assurance maladie", Roles: []string{"publisher:health", "reader"}},
	{ID: "drees", Name: "Direction de la recherche, des études, de l'évaluation et des statistiques", Roles: []string{"decision-maker"}},
	{ID: "cnil", Name: "Commission nationale de l'informatique et des libertés", Roles: []string{"auditor"}},
	{ID: "portail", Name: "Portail citoyen", Roles: []string{"consent-collector"}},
	// The gateway signs the consent events it records.
	{ID: gatewayMember, Name: "Passerelle gateway", Roles: []string{"gateway"}},
}

// gatewayMember is the gateway's own member id.
const gatewayMember = "passerelle-gateway"

// bootstrap gives a fresh data directory its members, keys and a signed
// registry; on a directory that has them it changes nothing.
func bootstrap(ctx context.Context, d datadir.Dir) error {
	if _, err := os.Stat(d.MembersDoc()); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(d.MemberSpecs()), 0o755); err != nil {
		return err
	}
	specs, err := yaml.Marshal(demoMembers)
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.MemberSpecs(), specs, 0o644); err != nil {
		return err
	}
	for _, m := range demoMembers {
		if _, err := d.Keys().Current(m.ID); errors.Is(err, keyfile.ErrNoKey) {
			if _, err := d.Keys().Generate(m.ID, seal.EdDSA); err != nil {
				return fmt.Errorf("key of %s: %w", m.ID, err)
			}
		}
	}
	if err := pseudo.NewFileKeyring(d.Pseudo()).Ensure(pseudo.KeyNames(bus.Domains())...); err != nil {
		return err
	}
	_, err = publishRegistry(ctx, d, d.MemberSpecs(), time.Now())
	return err
}

// openTrust opens the registry of a data directory and keeps it current.
func openTrust(ctx context.Context, d datadir.Dir, e *env) (*trust.Store, error) {
	anchor, err := trust.LoadAnchor(d.GovernancePublic())
	if err != nil {
		return nil, err
	}
	store, err := trust.Open(d.MembersDoc(), d.MembersSig(), anchor, e.logger(0))
	if err != nil {
		return nil, err
	}
	go store.Watch(ctx, 2*time.Second)
	return store, nil
}
