package busacl_test

import (
	"os"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

// The shipped file says what issue 18 asks, and names no topic the bus
// does not have: each connector writes its domain's topic and its dead
// letters; nobody but a connector writes a domain topic; nobody but the
// gateway reads one; the auditor reads the audit topic.
func TestTheShippedFile(t *testing.T) {
	f, err := busacl.Load(aclFile)
	if err != nil {
		t.Fatal(err)
	}
	topics := map[string]bool{}
	for _, s := range domains.Topics(1) {
		topics[s.Name] = true
	}
	for _, a := range f.ACLs() {
		if a.Resource == "topic" && !topics[a.Name] {
			t.Errorf("%s names a topic the bus does not have", a)
		}
	}
	for _, d := range domains.All() {
		connector := "User:connector-" + d.Name
		for _, topic := range []string{d.Topic(), d.DeadLetters()} {
			if !f.Allows(connector, "topic", topic, "Write") {
				t.Errorf("%s may not write %s", connector, topic)
			}
		}
		for _, p := range f.Principals() {
			if p != connector && f.Allows(p, "topic", d.Topic(), "Write") {
				t.Errorf("%s may write %s", p, d.Topic())
			}
			if p != "User:gateway" && f.Allows(p, "topic", d.Topic(), "Read") {
				t.Errorf("%s may read %s", p, d.Topic())
			}
			if p != connector && f.Allows(p, "topic", d.DeadLetters(), "Read") {
				t.Errorf("%s may read %s", p, d.DeadLetters())
			}
		}
		if !f.Allows("User:gateway", "topic", d.Topic(), "Read") {
			t.Errorf("the gateway may not read %s", d.Topic())
		}
	}
	if !f.Allows("User:auditor", "topic", "passerelle.audit.v1", "Read") || f.Allows("User:auditor", "topic", "passerelle.audit.v1", "Write") {
		t.Error("the auditor must read the audit topic and not write it")
	}
}

func TestParseNamesTheField(t *testing.T) {
	ok := "users:\n  - name: gateway\n    authentication: {type: scram-sha-512}\n    authorization:\n      type: simple\n      acls:\n        - resource: {type: topic, name: t}\n          operations: [Read]\n"
	if _, err := busacl.Parse([]byte(ok)); err != nil {
		t.Fatalf("a valid file: %v", err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"name: gateway", "name: Gate Way", "users[0].name"},
		{"type: scram-sha-512", "type: kerberos", "users[0].authentication.type"},
		{"type: simple", "type: opa", "users[0].authorization.type"},
		{"type: topic", "type: cluster", "users[0].authorization.acls[0].resource.type"},
		{"name: t}", "name: \"*\"}", "users[0].authorization.acls[0].resource.name"},
		{"name: t}", "name: t, patternType: match}", "users[0].authorization.acls[0].resource.patternType"},
		{"[Read]", "[All]", "users[0].authorization.acls[0].operations[0]"},
		{"[Read]", "[]", "users[0].authorization.acls[0].operations"},
		{"name: t}", "name: t, pattern: prefix}", "pattern"},
	} {
		_, err := busacl.Parse([]byte(strings.Replace(ok, tc.from, tc.to, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: got %v, want an error naming %s", tc.from, tc.to, err, tc.want)
		}
	}
	if _, err := busacl.Parse([]byte(ok + strings.TrimPrefix(ok, "users:\n"))); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("a user twice: %v", err)
	}
}

// Allows follows Kafka: a prefix matches what starts with it, and Read or
// Write implies Describe.
func TestAllows(t *testing.T) {
	f, err := busacl.Parse([]byte("users:\n  - name: u\n    authentication: {type: tls}\n    authorization:\n      type: simple\n      acls:\n" +
		"        - resource: {type: topic, name: logs., patternType: prefix}\n          operations: [Read]\n" +
		"        - resource: {type: group, name: g}\n          operations: [Read]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		res, name, op string
		want          bool
	}{
		{"topic", "logs.a", "Read", true},
		{"topic", "logs.a", "Describe", true},
		{"topic", "logs.a", "Write", false},
		{"topic", "logs", "Read", false},
		{"group", "g", "Read", true},
		{"group", "g2", "Read", false},
		{"topic", "g", "Read", false},
	} {
		if got := f.Allows("User:u", tc.res, tc.name, tc.op); got != tc.want {
			t.Errorf("%s %s %s: %v, want %v", tc.op, tc.res, tc.name, got, tc.want)
		}
	}
	if f.Allows("User:v", "topic", "logs.a", "Read") {
		t.Error("another principal")
	}
}

func FuzzParse(f *testing.F) {
	raw, err := os.ReadFile(aclFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("users: []"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := busacl.Parse(b)
		if err != nil {
			return
		}
		// What parses yields entries the authorizer can take.
		for _, a := range file.ACLs() {
			if a.Principal == "User:" || a.Name == "" || a.Operation == "" {
				t.Fatalf("a valid file gave %+v", a)
			}
		}
	})
}
