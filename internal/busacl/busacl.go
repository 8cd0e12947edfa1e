// Package busacl owns who may do what on the bus: the ACL file
// (deploy/kafka/acls.yaml), what it allows, and making a cluster's
// authorizer say exactly that.
//
// The file is the one source of truth: operators apply it to their
// cluster, and the binary embeds it ([Builtin]) for the demo's embedded
// broker to enforce. Its users are shaped as Strimzi
// KafkaUser specs so that each can become such a resource as it is; the
// principal of user <name> is User:<name>, whether it signs in with
// SCRAM-SHA-512 or with a client certificate whose CN is <name>.
package busacl

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/passerelle-bus/passerelle/internal/bus"
)

// File is an ACL file.
type File struct {
	Users []User `yaml:"users"`
}

// User is one principal and what it may do.
type User struct {
	Name           string `yaml:"name"`
	Authentication struct {
		Type string `yaml:"type"` // scram-sha-512 or tls
	} `yaml:"authentication"`
	Authorization struct {
		Type string `yaml:"type"` // simple
		ACLs []Rule `yaml:"acls"`
	} `yaml:"authorization"`
}

// Rule allows operations on a resource.
type Rule struct {
	Resource struct {
		Type        string `yaml:"type"` // topic or group
		Name        string `yaml:"name"`
		PatternType string `yaml:"patternType"` // literal (default) or prefix
	} `yaml:"resource"`
	Operations []string `yaml:"operations"`
}

// Principal is the user's name as the authorizer sees it.
func (u User) Principal() string { return "User:" + u.Name }

var (
	userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	// Kafka's operations, in its spelling; All is refused: a rule names
	// what it allows.
	operations = []string{"Read", "Write", "Create", "Delete", "Alter", "Describe", "DescribeConfigs", "AlterConfigs"}
)

// Load reads and validates an ACL file.
func Load(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acl file: %w", err)
	}
	f, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("acl file %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes an ACL file, refusing unknown fields, and validates it:
// the error names the field at fault.
func Parse(raw []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	return &f, f.validate()
}

func (f *File) validate() error {
	if len(f.Users) == 0 {
		return fmt.Errorf("users: at least one is required")
	}
	seen := map[string]bool{}
	for i, u := range f.Users {
		at := fmt.Sprintf("users[%d]", i)
		switch {
		case !userName.MatchString(u.Name):
			return fmt.Errorf("%s.name %q: want lower-case letters, digits, '.', '_' or '-'", at, u.Name)
		case seen[u.Name]:
			return fmt.Errorf("%s.name %q: given twice", at, u.Name)
		case u.Authentication.Type != "scram-sha-512" && u.Authentication.Type != "tls":
			return fmt.Errorf("%s.authentication.type %q: want scram-sha-512 or tls", at, u.Authentication.Type)
		case u.Authorization.Type != "simple":
			return fmt.Errorf("%s.authorization.type %q: want simple", at, u.Authorization.Type)
		}
		seen[u.Name] = true
		for j, r := range u.Authorization.ACLs {
			at := fmt.Sprintf("%s.authorization.acls[%d]", at, j)
			switch {
			case r.Resource.Type != "topic" && r.Resource.Type != "group":
				return fmt.Errorf("%s.resource.type %q: want topic or group", at, r.Resource.Type)
			case r.Resource.Name == "" || r.Resource.Name == "*":
				return fmt.Errorf("%s.resource.name: a name is required, and * would grant every %s", at, r.Resource.Type)
			case r.Resource.PatternType != "" && r.Resource.PatternType != "literal" && r.Resource.PatternType != "prefix":
				return fmt.Errorf("%s.resource.patternType %q: want literal or prefix", at, r.Resource.PatternType)
			case len(r.Operations) == 0:
				return fmt.Errorf("%s.operations: at least one is required", at)
			}
			for k, op := range r.Operations {
				if !slices.Contains(operations, op) {
					return fmt.Errorf("%s.operations[%d] %q: want one of %v", at, k, op, operations)
				}
			}
		}
	}
	return nil
}

// Principals are the file's principals: the ones whose ACLs it owns.
func (f *File) Principals() []string {
	out := make([]string, len(f.Users))
	for i, u := range f.Users {
		out[i] = u.Principal()
	}
	return out
}

// ACLs are the authorizer's entries the file means, in file order.
func (f *File) ACLs() []bus.ACL {
	var out []bus.ACL
	for _, u := range f.Users {
		for _, r := range u.Authorization.ACLs {
			pattern := "literal"
			if r.Resource.PatternType == "prefix" {
				pattern = "prefixed" // Kafka's word; Strimzi says prefix
			}
			for _, op := range r.Operations {
				out = append(out, bus.ACL{Principal: u.Principal(), Resource: r.Resource.Type, Name: r.Resource.Name,
					Pattern: pattern, Operation: op})
			}
		}
	}
	return out
}

// Allows says whether the file lets principal do op on a resource, by
// Kafka's rules: a prefixed pattern matches names that start with it, and
// Read, Write, Delete and Alter each imply Describe.
func (f *File) Allows(principal, resource, name, op string) bool {
	for _, a := range f.ACLs() {
		if a.Principal != principal || a.Resource != resource {
			continue
		}
		if a.Name != name && (a.Pattern != "prefixed" || !strings.HasPrefix(name, a.Name)) {
			continue
		}
		if a.Operation == op || op == "Describe" && slices.Contains([]string{"Read", "Write", "Delete", "Alter"}, a.Operation) {
			return true
		}
	}
	return false
}
