// Package bus is Passerelle's only door to Kafka.
//
// Everything goes through github.com/segmentio/kafka-go, whether the broker
// is a real Apache Kafka cluster or the in-process one that [StartEmbedded]
// runs for the demo and the unit tests: only the address changes.
//
// Non-obvious facts this package is built around:
//
//   - kafka-go has no idempotent producer. A produce retried after a timeout
//     can land twice, so every record Passerelle writes carries a
//     deterministic id and every consumer is idempotent. The bus never
//     promises exactly-once delivery; it promises at-least-once and
//     recognisable duplicates.
//   - A zero-value kafka.Writer acknowledges nothing (RequiredAcks = none)
//     and waits a whole second before sending a partial batch. [NewWriter]
//     sets acks=all and a batch timeout of milliseconds.
//   - kafka.Writer in Async mode drops errors unless a Completion callback is
//     set; [Writer] is synchronous and returns every error.
//   - A reader rebuilding state must know where "the end" is, or it never
//     knows it has caught up: [Replay] reads each partition up to the high
//     watermark it saw when it started, then optionally keeps following.
package bus
