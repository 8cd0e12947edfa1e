package busacl

import (
	"fmt"

	deploykafka "github.com/passerelle-bus/passerelle/deploy/kafka"
)

// The users the components sign in as. The ACL file says what each may
// do; these say who a component is, and TestBuiltinNamesEveryComponent
// holds the file to them.
const (
	// GatewayUser is every gateway's principal.
	GatewayUser = "gateway"
	// AuditorUser reads the audit trail to verify it.
	AuditorUser = "auditor"
)

// ConnectorUser is the principal of a domain's connector.
func ConnectorUser(domain string) string { return "connector-" + domain }

// Builtin is deploy/kafka/acls.yaml as embedded in the binary: what the
// demo's embedded broker enforces.
func Builtin() (*File, error) {
	f, err := Parse(deploykafka.ACLs)
	if err != nil {
		return nil, fmt.Errorf("built-in acl file deploy/kafka/acls.yaml: %w", err)
	}
	return f, nil
}

// User is the file's user of that name, or false.
func (f *File) User(name string) (User, bool) {
	for _, u := range f.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}
