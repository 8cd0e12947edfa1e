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

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/keyfile"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// demoMembers are the synthetic administrations of the demo: each domain's
// publisher (from the domain registry), a statistics office, the
// data-protection authority, the citizens' portal, a data-protection
// officer and the gateway itself.
func demoMembers() []trust.MemberSpec {
	var out []trust.MemberSpec
	for _, p := range domains.Publishers() {
		m := trust.MemberSpec{ID: p.ID, Name: p.Name}
		for _, d := range p.Domains {
			m.Roles = append(m.Roles, trust.PublisherRole(d))
		}
		m.Roles = append(m.Roles, trust.RoleReader)
		out = append(out, m)
	}
	return append(out,
		trust.MemberSpec{ID: "drees", Name: "Direction de la recherche, des études, de l'évaluation et des statistiques", Roles: []string{trust.RoleDecisionMaker}},
		trust.MemberSpec{ID: "cnil", Name: "Commission nationale de l'informatique et des libertés", Roles: []string{trust.RoleAuditor}},
		trust.MemberSpec{ID: "portail", Name: "Portail citoyen", Roles: []string{trust.RoleConsentCollector}},
		// The data-protection officer orders erasures (passerelle erase).
		trust.MemberSpec{ID: "dpo", Name: "Délégué à la protection des données", Roles: []string{trust.RoleController}},
		// The gateway signs the consent events it records.
		trust.MemberSpec{ID: gatewayMember, Name: "Passerelle gateway", Roles: []string{trust.RoleGateway}},
	)
}

// gatewayMember is the gateway's own member id.
const gatewayMember = "passerelle-gateway"

// bootstrap gives a data directory its members, keys and a signed
// registry. A fresh directory gets the demo's members; one made by an
// earlier version gets the members of domains added since (a new domain's
// publisher), the others untouched; a complete one is left as it is.
func bootstrap(ctx context.Context, d datadir.Dir) error {
	var specs []trust.MemberSpec
	switch raw, err := os.ReadFile(d.MemberSpecs()); {
	case err == nil:
		if err := yaml.Unmarshal(raw, &specs); err != nil {
			return fmt.Errorf("member specs %s: %w", d.MemberSpecs(), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	have := map[string]bool{}
	for _, m := range specs {
		have[m.ID] = true
	}
	added := 0
	for _, m := range demoMembers() {
		if !have[m.ID] {
			specs = append(specs, m)
			added++
		}
	}
	if err := pseudo.NewFileKeyring(d.Pseudo()).Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		return err
	}
	if _, err := os.Stat(d.MembersDoc()); err == nil && added == 0 {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(d.MemberSpecs()), 0o755); err != nil {
		return err
	}
	raw, err := yaml.Marshal(specs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.MemberSpecs(), raw, 0o644); err != nil {
		return err
	}
	for _, m := range specs {
		if _, err := d.Keys().Current(m.ID); errors.Is(err, keyfile.ErrNoKey) {
			if _, err := d.Keys().Generate(m.ID, seal.EdDSA); err != nil {
				return fmt.Errorf("key of %s: %w", m.ID, err)
			}
		}
	}
	_, err = publishRegistry(ctx, d, d.MemberSpecs(), time.Now(), nil)
	return err
}

// openTrust opens the registry of a data directory; a long-running command
// keeps it current with a registry watcher (assemble.go).
func openTrust(d datadir.Dir, e *env) (*trust.Store, error) {
	anchor, err := trust.LoadAnchor(d.GovernancePublic())
	if err != nil {
		return nil, err
	}
	return trust.Open(d.MembersDoc(), d.MembersSig(), anchor, e.logger(0))
}
