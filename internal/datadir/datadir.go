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

// KEK holds each domain's key-encryption key when Vault is not used
// (internal/kek).
func (d Dir) KEK() string { return filepath.Join(string(d), "kek") }

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

// TLS holds the data directory's certificate authority and what it
// issued: one CA for every part that serves TLS (the gateway's HTTPS,
// the embedded broker), so that one --cacert trusts them all.
func (d Dir) TLS() string { return filepath.Join(string(d), "tls") }

// CACert is the CA's certificate, what clients trust (curl --cacert).
func (d Dir) CACert() string { return filepath.Join(d.TLS(), "ca.crt") }

// CAKey is the CA's private key (mode 0600).
func (d Dir) CAKey() string { return filepath.Join(d.TLS(), "ca.key") }

// TLSCert and TLSKey are the certificate and key a part named name
// serves or presents (e.g. "gateway").
func (d Dir) TLSCert(name string) string { return filepath.Join(d.TLS(), name+".crt") }

// TLSKey: see TLSCert.
func (d Dir) TLSKey(name string) string { return filepath.Join(d.TLS(), name+".key") }

// KafkaUsers holds the embedded broker's users' secrets (mode 0700):
// DIR/<user>.password as passerelle kafka apply --users-dir makes them,
// and DIR/<user>.properties, the same user's settings for a librdkafka
// client (kcat -F).
func (d Dir) KafkaUsers() string { return filepath.Join(string(d), "kafka-users") }

// KafkaPassword is the password file of the embedded broker's user name.
func (d Dir) KafkaPassword(name string) string {
	return filepath.Join(d.KafkaUsers(), name+".password")
}

// KafkaProperties is the librdkafka configuration of the embedded
// broker's user name (mode 0600: it holds the password).
func (d Dir) KafkaProperties(name string) string {
	return filepath.Join(d.KafkaUsers(), name+".properties")
}

// KafkaServerName names the embedded broker's certificate under TLS().
const KafkaServerName = "kafka"

// GovernanceOwner is the key owner name of the governance key.
const GovernanceOwner = "governance"
