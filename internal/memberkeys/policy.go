package memberkeys

import (
	"fmt"
	"strings"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/transit"
)

// Policy is a Vault ACL policy: its name in Vault (and file name in
// deploy/vault, plus .hcl) and its HCL.
type Policy struct {
	Name string
	HCL  string
}

// ConnectorPolicyName names the policy of domain's connectors.
func ConnectorPolicyName(domain string) string { return "connector-" + domain }

// GatewayPolicyName names the gateway's policy.
const GatewayPolicyName = "gateway"

// Policies are the least-privilege policies of a deployment with the
// default mount and key names: one per domain of the registry for its
// connector, one for the gateway gatewayID. Every path is exact: a Vault
// glob (`*`, or `+` for one segment) on a key-name prefix such as
// hmac/passerelle-pseudo-domain-tax* would also grant a key named
// passerelle-pseudo-domain-taxes, another domain's. An auditor needs no
// policy: it checks checkpoints with the member registry's public keys.
func Policies(gatewayID string) []Policy {
	var out []Policy
	for _, d := range domains.All() {
		out = append(out, ConnectorPolicy(d))
	}
	return append(out, GatewayPolicy(gatewayID, domains.Names()))
}

// ConnectorPolicy lets d's connector sign as d's publisher and compute the
// HMACs of d's keys (pseudo.PublisherKeyNames): no other member's key, no
// other domain's pseudonyms or link seal, no audit pseudonym.
func ConnectorPolicy(d *domain.Domain) Policy {
	var b strings.Builder
	header(&b, fmt.Sprintf("the connectors of domain %s, run by member %s", d.Name, d.Publisher.ID))
	signGrants(&b, d.Publisher.ID)
	hmacGrants(&b, fmt.Sprintf("%s's pseudonyms, the routing partition, the link ids and %s's link seal key", d.Name, d.Name),
		pseudo.PublisherKeyNames(d.Name))
	fmt.Fprintf(&b, "\n# %s's KEK: wrap a new epoch key, unwrap the current one (internal/datakeys).\n", d.Name)
	grant(&b, transit.EncryptPath(transit.DefaultMount, kek.KeyName(d.Name)), "update")
	grant(&b, transit.DecryptPath(transit.DefaultMount, kek.KeyName(d.Name)), "update")
	return Policy{Name: ConnectorPolicyName(d.Name), HCL: b.String()}
}

// GatewayPolicy lets the gateway id sign as itself (audit events,
// checkpoints, consent events) and compute every domain's pseudonyms, the
// audit pseudonyms and the link seal keys of domainNames
// (pseudo.GatewayKeyNames). It cannot sign as a connector.
func GatewayPolicy(id string, domainNames []string) Policy {
	var b strings.Builder
	header(&b, "the gateway "+id)
	signGrants(&b, id)
	hmacGrants(&b, "every domain's pseudonyms and link seal key (derived once at start), and the audit pseudonyms",
		pseudo.GatewayKeyNames(domainNames))
	b.WriteString("\n# Every domain's KEK: unwrap its epoch keys, to open sealed records (internal/datakeys).\n")
	for _, d := range domainNames {
		grant(&b, transit.DecryptPath(transit.DefaultMount, kek.KeyName(d)), "update")
	}
	return Policy{Name: GatewayPolicyName, HCL: b.String()}
}

func header(b *strings.Builder, who string) {
	fmt.Fprintf(b, "# Vault policy of %s.\n", who)
	b.WriteString("# Generated from the domain registry by internal/memberkeys (go test\n")
	b.WriteString("# ./internal/memberkeys -run TestPoliciesAreGenerated -update): do not edit.\n")
	fmt.Fprintf(b, "# Transit mounted at %s/, keys named %s<member> and %s<key>.\n",
		transit.DefaultMount, DefaultSignPrefix, DefaultPseudoPrefix)
}

func signGrants(b *strings.Builder, member string) {
	key := SignKeyName(member)
	fmt.Fprintf(b, "\n# Sign as %s; read the key's versions and public keys, which the\n# signer needs to name its key (kid).\n", member)
	grant(b, transit.SignPath(transit.DefaultMount, key), "update")
	grant(b, transit.KeyPath(transit.DefaultMount, key), "read")
}

func hmacGrants(b *strings.Builder, what string, names []string) {
	fmt.Fprintf(b, "\n# HMAC-SHA256: %s.\n", what)
	for _, n := range names {
		grant(b, transit.HMACPath(transit.DefaultMount, DefaultPseudoPrefix+n), "update")
	}
}

func grant(b *strings.Builder, path, capability string) {
	fmt.Fprintf(b, "path %q {\n  capabilities = [%q]\n}\n", path, capability)
}
