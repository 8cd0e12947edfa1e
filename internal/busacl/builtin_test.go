package busacl_test

import (
	"testing"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

// The embedded ACL file names a user for every component that signs in —
// each domain's connector, the gateway, the auditor — and gives each the
// rights of its contract, no more: a connector writes its own domain topic
// and no other, reads none; the gateway reads every domain topic, writes
// none; the auditor reads the audit trail only.
func TestBuiltinNamesEveryComponent(t *testing.T) {
	f, err := busacl.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var domainTopics []string
	for _, d := range domains.All() {
		domainTopics = append(domainTopics, d.Topic())
	}
	type want struct {
		user, topic, op string
		allow           bool
	}
	var cases []want
	for _, d := range domains.All() {
		u := busacl.ConnectorUser(d.Name)
		for _, topic := range domainTopics {
			cases = append(cases, want{u, topic, "Write", topic == d.Topic()}, want{u, topic, "Read", false})
		}
		cases = append(cases, want{u, d.DeadLetters(), "Write", true}, want{u, bus.TopicAudit, "Read", false})
	}
	for _, topic := range domainTopics {
		cases = append(cases, want{busacl.GatewayUser, topic, "Read", true}, want{busacl.GatewayUser, topic, "Write", false},
			want{busacl.AuditorUser, topic, "Read", false})
	}
	for _, topic := range []string{bus.TopicAudit, bus.TopicConsent, bus.TopicBudget} {
		cases = append(cases, want{busacl.GatewayUser, topic, "Write", true}, want{busacl.AuditorUser, topic, "Write", false})
	}
	cases = append(cases, want{busacl.AuditorUser, bus.TopicAudit, "Read", true}, want{busacl.AuditorUser, bus.TopicConsent, "Read", false})
	for _, c := range cases {
		if _, ok := f.User(c.user); !ok {
			t.Fatalf("the ACL file has no user %s", c.user)
		}
		if got := f.Allows("User:"+c.user, "topic", c.topic, c.op); got != c.allow {
			t.Errorf("%s %s %s: allowed %v, want %v", c.user, c.op, c.topic, got, c.allow)
		}
	}
}
