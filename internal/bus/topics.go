package bus

import "fmt"

// Fixed topic names of the contract (docs/DESIGN.md, "Kafka"); each
// domain's come from the domain registry (internal/domains).
const (
	TopicConsent = "passerelle.consent.v1"
	TopicAudit   = "passerelle.audit.v1"
	TopicBudget  = "passerelle.stats.budget.v1"
)

// DomainTopic names the topic of one domain entity at a schema major
// version: passerelle.<domain>.<entity>.v<major>.
func DomainTopic(domain, entity string, major int) string {
	return fmt.Sprintf("passerelle.%s.%s.v%d", domain, entity, major)
}

// DLQTopic names the dead-letter topic of a domain.
func DLQTopic(domain string) string { return "passerelle.dlq." + domain }

// KeyTopic names the topic of a domain's data keys (internal/datakeys).
func KeyTopic(domain string) string { return "passerelle.keys." + domain + ".v1" }

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

// DomainTopics is what a domain's topic, its dead letters and its data
// keys ask of the broker: the domain topic is compacted (the latest record
// of a subject is what matters); dead letters are kept forever; the keys
// are compacted on one partition, so that an epoch and the keys wrapped
// under it have one order every reader agrees on.
func DomainTopics(topic, deadLetters, keys string, partitions int) []TopicSpec {
	return []TopicSpec{
		{Name: topic, Partitions: partitions, Cleanup: CleanupCompact},
		{Name: deadLetters, Partitions: partitions, Cleanup: CleanupDelete, KeepForever: true},
		{Name: keys, Partitions: 1, Cleanup: CleanupCompact},
	}
}

// FixedTopics is every topic of the contract that belongs to no domain:
// the consents, compacted, and the audit log and the privacy budget
// ledger, kept forever.
func FixedTopics(partitions int) []TopicSpec {
	return []TopicSpec{
		{Name: TopicConsent, Partitions: partitions, Cleanup: CleanupCompact},
		// One partition: the audit log is a single Merkle tree and needs a
		// total order.
		{Name: TopicAudit, Partitions: 1, Cleanup: CleanupDelete, KeepForever: true},
		// One partition: a spend's verdict depends on every spend before
		// it, so the ledger needs a total order. Not compacted: one
		// tombstone under a requester's key would erase its spends and
		// give its budget back, and with a unique key per spend compaction
		// would have nothing to do anyway. Kept forever: a budget runs for
		// a calendar year and its spends are evidence of how it was used.
		{Name: TopicBudget, Partitions: 1, Cleanup: CleanupDelete, KeepForever: true},
	}
}
