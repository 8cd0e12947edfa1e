// Package pseudo turns national identifiers into pseudonyms: one per domain,
// so that a reader of one domain's topic cannot link its records to
// another's; a routing one that only picks a partition; an audit one for the
// access log. Only the gateway holds every key.
package pseudo

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// Key names in a keyring.
const (
	keyRouting = "routing"
	keyAudit   = "audit"
	// KeyLink names the key of the linkage ids (internal/link): one id
	// per citizen across domains, which never travels in clear.
	KeyLink = "link"
)

// DomainKey names the key of a domain's pseudonyms.
func DomainKey(domain string) string { return "domain-" + domain }

// LinkSealKey names the key from which a domain's linkage-header key is
// derived (internal/link): held by that domain's connector and the gateway.
func LinkSealKey(domain string) string { return "link-seal-" + domain }

// Keyring computes HMAC-SHA256 under named keys, many inputs per call. There
// are two: key files on disk, and Vault Transit, where keys never leave
// Vault.
type Keyring interface {
	HMAC(ctx context.Context, key string, msgs [][]byte) ([][]byte, error)
}

// Pseudonymizer derives pseudonyms from NIRs, validating each NIR first.
type Pseudonymizer struct {
	kr Keyring
}

// New returns a pseudonymizer over kr.
func New(kr Keyring) *Pseudonymizer { return &Pseudonymizer{kr: kr} }

// Keyring is the keyring the pseudonyms are computed with: the gateway
// derives the linkage tokens' keys from it too (internal/link).
func (p *Pseudonymizer) Keyring() Keyring { return p.kr }

// NIRError says which input of a batch was not a valid NIR.
type NIRError struct {
	Index int
	Err   error
}

func (e *NIRError) Error() string { return fmt.Sprintf("input %d: %v", e.Index, e.Err) }
func (e *NIRError) Unwrap() error { return e.Err }

func (p *Pseudonymizer) sum(ctx context.Context, key string, nirs []string) ([][]byte, error) {
	msgs := make([][]byte, len(nirs))
	for i, n := range nirs {
		if err := ValidateNIR(n); err != nil {
			return nil, &NIRError{Index: i, Err: err}
		}
		msgs[i] = []byte(n)
	}
	sums, err := p.kr.HMAC(ctx, key, msgs)
	if err != nil {
		return nil, fmt.Errorf("pseudonymise with %s: %w", key, err)
	}
	return sums, nil
}

func encode(sums [][]byte) []string {
	out := make([]string, len(sums))
	for i, s := range sums {
		out[i] = base64.RawURLEncoding.EncodeToString(s)
	}
	return out
}

// Domain returns each citizen's pseudonym in domain: the Kafka key of their
// records there.
func (p *Pseudonymizer) Domain(ctx context.Context, domain string, nirs []string) ([]string, error) {
	sums, err := p.sum(ctx, DomainKey(domain), nirs)
	return encode(sums), err
}

// Audit returns the pseudonyms under which the access log names citizens.
func (p *Pseudonymizer) Audit(ctx context.Context, nirs []string) ([]string, error) {
	sums, err := p.sum(ctx, keyAudit, nirs)
	return encode(sums), err
}

// Partitions returns, for each citizen, the partition their records take in
// every domain's topic of n partitions. Only the partition number leaves
// this function, never the routing HMAC itself, which would link domains.
func (p *Pseudonymizer) Partitions(ctx context.Context, nirs []string, n int) ([]int, error) {
	if n <= 0 {
		return nil, fmt.Errorf("partitions: %d, want at least 1", n)
	}
	sums, err := p.sum(ctx, keyRouting, nirs)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(sums))
	for i, s := range sums {
		out[i] = int(binary.BigEndian.Uint64(s[:8]) % uint64(n))
	}
	return out, nil
}

// KeyNames lists every key a complete keyring holds for these domains.
func KeyNames(domains []string) []string {
	names := []string{keyRouting, keyAudit, KeyLink}
	for _, d := range domains {
		names = append(names, DomainKey(d), LinkSealKey(d))
	}
	return names
}

// PublisherKeyNames lists the keys a connector of domain uses, and no
// other: its domain's pseudonyms, the routing partition, the link ids and
// its domain's link seal. The Vault policies grant exactly these
// (internal/memberkeys), so a connector cannot compute another domain's
// pseudonyms.
func PublisherKeyNames(domain string) []string {
	return []string{DomainKey(domain), keyRouting, KeyLink, LinkSealKey(domain)}
}

// GatewayKeyNames lists the keys the gateway uses: every domain's
// pseudonyms (to find a citizen's records) and link seal (to open linkage
// headers), and the audit pseudonyms. It computes neither partitions nor
// link ids: those are the connectors'.
func GatewayKeyNames(domains []string) []string {
	names := []string{keyAudit}
	for _, d := range domains {
		names = append(names, DomainKey(d), LinkSealKey(d))
	}
	return names
}
