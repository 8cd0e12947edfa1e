// Package trust is the member registry: who the administrations on the bus
// are, what each may do, and which keys speak for them. Like X-Road's
// global configuration, the registry is a document signed by a governance
// key: a node refuses a registry whose signature fails, and never goes back
// to an older serial.
package trust

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"gopkg.in/yaml.v3"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

// Roles a member may hold; publisher roles are "publisher:<domain>".
const (
	RoleReader           = "reader"
	RoleDecisionMaker    = "decision-maker"
	RoleAuditor          = "auditor"
	RoleConsentCollector = "consent-collector"
	// RoleController is the data-protection officer acting for the
	// controller: it orders a citizen's erasure (POST /v1/erasures).
	RoleController = "controller"
	// RoleGateway signs the gateway's own records (consent events).
	RoleGateway         = "gateway"
	rolePublisherPrefix = "publisher:"
)

// PublisherRole is the role that lets a member publish to domain.
func PublisherRole(domain string) string { return rolePublisherPrefix + domain }

// Member statuses.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
)

// Errors of loading and lookup.
var (
	// ErrBadRegistry: the document does not parse or validate; the message
	// names the field.
	ErrBadRegistry = errors.New("invalid member registry")
	// ErrUnsignedRegistry: the governance signature fails. The node keeps
	// the registry it had.
	ErrUnsignedRegistry = errors.New("member registry signature does not verify")
	// ErrRollback: the document's serial is not newer than the one in use.
	ErrRollback = errors.New("member registry is older than the one in use")
	// ErrUnknownMember: no member has that id.
	ErrUnknownMember = errors.New("unknown member")
)

// Member is one administration.
type Member struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Roles       []string `json:"roles"`
	Status      string   `json:"status"`
	keys        jwk.Set  // public keys, revoked ones excluded
	revokedKeys []string
	// certs are the TLS client certificates the member may present
	// (certificates.go); none listed, it calls without one.
	certs []Certificate
}

// Has reports whether the member holds role and is active.
func (m *Member) Has(role string) bool {
	return m.Status == StatusActive && slices.Contains(m.Roles, role)
}

// JWKS returns the member's published keys: the ones its records and
// requests may be verified with.
func (m *Member) JWKS() jwk.Set { return m.keys }

// Registry is one verified version of the member registry.
type Registry struct {
	Serial   int64
	IssuedAt time.Time
	members  []*Member
	byID     map[string]*Member
	keys     map[string]keyEntry
}

type keyEntry struct {
	key     seal.Key
	revoked bool
}

type document struct {
	Serial   int64     `yaml:"serial"`
	IssuedAt time.Time `yaml:"issued_at"`
	Members  []struct {
		ID          string           `yaml:"id"`
		Name        string           `yaml:"name"`
		Roles       []string         `yaml:"roles"`
		Status      string           `yaml:"status"`
		Keys        []map[string]any `yaml:"keys"`
		RevokedKeys []string         `yaml:"revoked_keys"`
		// Certificates is optional: a registry written before it
		// existed is as valid as it was.
		Certificates []Certificate `yaml:"certificates"`
	} `yaml:"members"`
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Parse verifies doc's detached signature sig against the governance key
// anchor, then parses and validates it.
func Parse(doc, sig []byte, anchor jwk.Key) (*Registry, error) {
	if err := verifyDocument(doc, sig, anchor); err != nil {
		return nil, err
	}
	var d document
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRegistry, err)
	}
	if d.Serial <= 0 {
		return nil, fmt.Errorf("%w: serial: must be positive", ErrBadRegistry)
	}
	r := &Registry{Serial: d.Serial, IssuedAt: d.IssuedAt, byID: map[string]*Member{}, keys: map[string]keyEntry{}}
	certOwner := map[string]string{} // thumbprint → member: a certificate speaks for one member only
	for i, dm := range d.Members {
		where := fmt.Sprintf("members[%d]", i)
		if !idRE.MatchString(dm.ID) {
			return nil, fmt.Errorf("%w: %s.id: %q: want lower-case letters, digits and dashes", ErrBadRegistry, where, dm.ID)
		}
		if _, dup := r.byID[dm.ID]; dup {
			return nil, fmt.Errorf("%w: %s.id: %q listed twice", ErrBadRegistry, where, dm.ID)
		}
		if dm.Name == "" {
			return nil, fmt.Errorf("%w: %s.name: required", ErrBadRegistry, where)
		}
		for j, role := range dm.Roles {
			if !validRole(role) {
				return nil, fmt.Errorf("%w: %s.roles[%d]: unknown role %q", ErrBadRegistry, where, j, role)
			}
		}
		status := dm.Status
		if status == "" {
			status = StatusActive
		}
		if status != StatusActive && status != StatusRevoked {
			return nil, fmt.Errorf("%w: %s.status: %q, want active or revoked", ErrBadRegistry, where, dm.Status)
		}
		m := &Member{ID: dm.ID, Name: dm.Name, Roles: dm.Roles, Status: status, keys: jwk.NewSet(), revokedKeys: dm.RevokedKeys}
		for j, raw := range dm.Keys {
			k, err := parsePublicKey(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: %s.keys[%d]: %w", ErrBadRegistry, where, j, err)
			}
			if _, dup := r.keys[k.ID]; dup {
				return nil, fmt.Errorf("%w: %s.keys[%d]: kid %s already belongs to a member", ErrBadRegistry, where, j, k.ID)
			}
			k.Member = m.ID
			revoked := status == StatusRevoked || slices.Contains(dm.RevokedKeys, k.ID)
			r.keys[k.ID] = keyEntry{key: k, revoked: revoked}
			if !revoked {
				pub, _ := jwk.Import(k.Public)
				_ = pub.Set(jwk.KeyIDKey, k.ID)
				_ = pub.Set(jwk.AlgorithmKey, raw["alg"])
				_ = pub.Set(jwk.KeyUsageKey, "sig")
				_ = m.keys.AddKey(pub)
			}
		}
		for j, c := range dm.Certificates {
			tp, err := c.validate()
			if err != nil {
				return nil, fmt.Errorf("%w: %s.certificates[%d]: %w", ErrBadRegistry, where, j, err)
			}
			if owner, dup := certOwner[tp]; dup {
				return nil, fmt.Errorf("%w: %s.certificates[%d]: %s already listed for %s", ErrBadRegistry, where, j, tp, owner)
			}
			certOwner[tp] = m.ID
			m.certs = append(m.certs, c)
		}
		r.members = append(r.members, m)
		r.byID[m.ID] = m
	}
	return r, nil
}

func validRole(role string) bool {
	switch role {
	case RoleReader, RoleDecisionMaker, RoleAuditor, RoleConsentCollector, RoleController, RoleGateway:
		return true
	}
	d, ok := strings.CutPrefix(role, rolePublisherPrefix)
	return ok && idRE.MatchString(d)
}

// parsePublicKey accepts an EdDSA or ES256 public JWK whose kid is its
// thumbprint, so a kid can never be claimed by another key.
func parsePublicKey(raw map[string]any) (seal.Key, error) {
	b, err := json.Marshal(raw)
	if err != nil {
		return seal.Key{}, err
	}
	k, err := jwk.ParseKey(b)
	if err != nil {
		return seal.Key{}, err
	}
	if priv, _ := jwk.IsPrivateKey(k); priv {
		return seal.Key{}, errors.New("is a private key: publish only public keys")
	}
	alg, _ := raw["alg"].(string)
	if alg != seal.EdDSA && alg != seal.ES256 {
		return seal.Key{}, fmt.Errorf("alg %q, want EdDSA or ES256", alg)
	}
	tp, err := seal.Thumbprint(k)
	if err != nil {
		return seal.Key{}, err
	}
	if kid, _ := k.KeyID(); kid != tp {
		return seal.Key{}, fmt.Errorf("kid %q is not the key's RFC 7638 thumbprint %s", kid, tp)
	}
	var pub any
	if err := jwk.Export(k, &pub); err != nil {
		return seal.Key{}, err
	}
	return seal.Key{ID: tp, Alg: alg, Public: pub}, nil
}

// Members lists the members in registry order.
func (r *Registry) Members() []*Member { return slices.Clone(r.members) }

// Member returns one member.
func (r *Registry) Member(id string) (*Member, error) {
	m, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMember, id)
	}
	return m, nil
}

// SigningKey implements seal.Keys: a key of a revoked member, or a key
// listed as revoked, is refused.
func (r *Registry) SigningKey(kid string) (seal.Key, error) {
	e, ok := r.keys[kid]
	switch {
	case !ok:
		return seal.Key{}, fmt.Errorf("%w: %s", seal.ErrUnknownKey, kid)
	case e.revoked:
		return seal.Key{}, fmt.Errorf("%w: %s of %s", seal.ErrRevokedKey, kid, e.key.Member)
	}
	return e.key, nil
}

// MayPublish implements seal.Keys.
func (r *Registry) MayPublish(member, domain string) bool {
	m, ok := r.byID[member]
	return ok && m.Has(PublisherRole(domain))
}

var _ seal.Keys = (*Registry)(nil)
