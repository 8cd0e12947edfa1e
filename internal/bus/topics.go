package bus

import "fmt"

// Domains are the administrations' domains known to this version of the
// bus, each with the entity its topic carries.
var domainEntities = []struct{ Domain, Entity string }{
	{"civilstatus", "person"},
	{"tax", "household"},
	{"hr", "employment"},
	{"finance", "payment"},
	{"health", "coverage"},
}

// Fixed topic names of the contract (DESIGN.md, "Contract").
const (
	TopicConsent = "passerelle.consent.v1"
	TopicAudit   = "passerelle.audit.v1"
)

// DomainTopic names the topic of one domain entity at a schema major
// version: passerelle.<domain>.<entity>.v<major>.
func DomainTopic(domain, entity string, major int) string {
	return fmt.Sprintf("passerelle.%s.%s.v%d", domain, entity, major)
}

// DLQTopic names the dead-letter topic of a domain.
func DLQTopic(domain string) string { return "passerelle.dlq." + domain }

// Cleanup policies, as Kafka spells them.
const (
	CleanupCompact = "compact"
	CleanupDelete  = "delete"
)

// TopicSpec is what Passerelle asks of a topic when it creates it.
type TopicSpec struct {
	Name       string
	Partitions int
	// Cleanup is CleanupCompact for state topics (the latest record per key
	// is what matters) and CleanupDelete for logs.
	Cleanup string
	// KeepForever disables time and size retention: the audit log and the
	// dead letters must never be deleted by the broker.
	KeepForever bool
}

func (s TopicSpec) configs() map[string]string {
	c := map[string]string{"cleanup.policy": s.Cleanup}
	if s.KeepForever {
		c["retention.ms"] = "-1"
		c["retention.bytes"] = "-1"
	}
	return c
}

// StandardTopics returns every topic of the contract with the given
// partition count. Domain topics and consents are compacted; the audit log
// and dead letters are kept forever.
func StandardTopics(partitions int) []TopicSpec {
	var specs []TopicSpec
	for _, de := range domainEntities {
		specs = append(specs,
			TopicSpec{Name: DomainTopic(de.Domain, de.Entity, 1), Partitions: partitions, Cleanup: CleanupCompact},
			TopicSpec{Name: DLQTopic(de.Domain), Partitions: partitions, Cleanup: CleanupDelete, KeepForever: true},
		)
	}
	return append(specs,
		TopicSpec{Name: TopicConsent, Partitions: partitions, Cleanup: CleanupCompact},
		// One partition: the audit log is a single Merkle tree and needs a
		// total order.
		TopicSpec{Name: TopicAudit, Partitions: 1, Cleanup: CleanupDelete, KeepForever: true},
	)
}

// Domains lists the domain names, in a stable order.
func Domains() []string {
	out := make([]string, len(domainEntities))
	for i, de := range domainEntities {
		out[i] = de.Domain
	}
	return out
}
