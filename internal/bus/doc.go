// Package bus is Passerelle's only door to Kafka.
//
// Everything goes through github.com/segmentio/kafka-go, whether the broker
// is a real Apache Kafka cluster or the in-process one that [StartEmbedded]
// runs for the demo and the unit tests: only the address changes. No other
// package imports kafka-go, tests included: they read and write records as
// [Message] and [Header], and choose partitions with a [Balancer]; the
// conversions to and from kafka-go's types happen in here. A test of this
// package holds every file of the module to that, and the bus's exported
// API to naming none of kafka-go's types. ([Embedded.Fake] hands tests the
// in-process broker itself, to inject faults: that is the broker, not a
// client.)
//
// Non-obvious facts this package is built around:
//
//   - kafka-go has no idempotent producer. A produce retried after a timeout
//     can land twice, so every record Passerelle writes carries a
//     deterministic id and every consumer is idempotent. The bus never
//     promises exactly-once delivery; it promises at-least-once and
//     recognisable duplicates.
//   - A zero-value kafka.Writer acknowledges nothing (RequiredAcks = none)
//     and waits a whole second before sending a partial batch.
//     [Client.NewWriter] sets acks=all and a batch timeout of milliseconds.
//   - kafka.Writer in Async mode drops errors unless a Completion callback is
//     set; [Writer] is synchronous and returns every error.
//   - A reader rebuilding state must know where "the end" is, or it never
//     knows it has caught up: [Client.Replay] reads each partition up to
//     the high watermark it saw when it started, then optionally keeps
//     following.
//   - A [Message] shares its bytes with kafka-go's record, both ways: keys,
//     values and headers are never copied, and the headers slice is viewed
//     as the other type's rather than rebuilt, so the bus's types cost the
//     replay of a topic at 100k+ records/s no allocation. A record read may
//     be kept; one handed to a write must not change afterwards: a write
//     that gave up with its context may still be sending it.
package bus
