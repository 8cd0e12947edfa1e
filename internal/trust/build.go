package trust

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"gopkg.in/yaml.v3"
)

// MemberSpec is what governance decides about a member; Build adds its keys.
type MemberSpec struct {
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Roles       []string `yaml:"roles"`
	Status      string   `yaml:"status,omitempty"`
	RevokedKeys []string `yaml:"revoked_keys,omitempty"`
	// Certificates are the TLS client certificates the member may
	// present to a gateway (docs/DESIGN.md, "Mutual TLS").
	Certificates []Certificate `yaml:"certificates,omitempty"`
}

// Build writes a registry document: the specs with each member's public
// keys, as returned by keysOf.
func Build(serial int64, issued time.Time, specs []MemberSpec, keysOf func(id string) (jwk.Set, error)) ([]byte, error) {
	type member struct {
		MemberSpec `yaml:",inline"`
		Keys       []map[string]any `yaml:"keys"`
	}
	doc := struct {
		Serial   int64     `yaml:"serial"`
		IssuedAt time.Time `yaml:"issued_at"`
		Members  []member  `yaml:"members"`
	}{Serial: serial, IssuedAt: issued.UTC().Truncate(time.Second)}
	for _, s := range specs {
		set, err := keysOf(s.ID)
		if err != nil {
			return nil, fmt.Errorf("keys of %s: %w", s.ID, err)
		}
		m := member{MemberSpec: s}
		for i := range set.Len() {
			k, _ := set.Key(i)
			b, err := json.Marshal(k)
			if err != nil {
				return nil, err
			}
			var raw map[string]any
			if err := json.Unmarshal(b, &raw); err != nil {
				return nil, err
			}
			m.Keys = append(m.Keys, raw)
		}
		doc.Members = append(doc.Members, m)
	}
	return yaml.Marshal(doc)
}
