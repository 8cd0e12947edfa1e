// Package datadir names the files of a Passerelle data directory, the
// embedded default's home for keys, the member registry and the broker log.
package datadir

import (
	"path/filepath"

	"github.com/passerelle-bus/passerelle/internal/keyfile"
)

// Dir is a data directory.
type Dir string

// Keys holds the members' and the governance's private keys.
func (d Dir) Keys() keyfile.Dir { return keyfile.Dir(filepath.Join(string(d), "keys")) }

// Pseudo holds the pseudonym keys.
func (d Dir) Pseudo() string { return filepath.Join(string(d), "pseudo") }

// MemberSpecs is governance's list of members, roles and revocations.
func (d Dir) MemberSpecs() string { return filepath.Join(string(d), "trust", "members.src.yaml") }

// MembersDoc is the published registry document.
func (d Dir) MembersDoc() string { return filepath.Join(string(d), "trust", "members.yaml") }

// MembersSig is its governance signature.
func (d Dir) MembersSig() string { return filepath.Join(string(d), "trust", "members.yaml.sig") }

// GovernancePublic is the trust anchor every node checks the registry with.
func (d Dir) GovernancePublic() string {
	return filepath.Join(string(d), "trust", "governance.pub.jwk")
}

// Kafka holds the embedded broker's log.
func (d Dir) Kafka() string { return filepath.Join(string(d), "kafka") }

// GovernanceOwner is the key owner name of the governance key.
const GovernanceOwner = "governance"
