package bus

import (
	"time"
	"unsafe"

	"github.com/segmentio/kafka-go"
)

// Message is one Kafka record, as the bus writes and reads it. Keys, values
// and headers are the bytes on the wire: the bus neither copies nor changes
// them, so a Message read shares its bytes with the fetch it came from, and
// a Message handed to a write must not be changed afterwards: a write that
// gave up with its context may still be sending it.
type Message struct {
	// Topic is the topic the record was read from, or the one Write sends
	// it to.
	Topic string
	// Partition is the partition the record was read from. Writing, only a
	// balancer that reads it ([ByPartition]) heeds it.
	Partition int
	// Offset is the record's position in its partition; writing, it is
	// ignored.
	Offset int64
	// Key is nil for a record without a key.
	Key []byte
	// Value is nil for a tombstone.
	Value []byte
	// Headers are kept in order; keys may repeat.
	Headers []Header
	// Time is the record's timestamp. Writing, a zero Time is stamped with
	// the time of the write.
	Time time.Time
}

// Header is one header of a record.
type Header struct {
	Key   string
	Value []byte
}

// fromKafka and toKafka convert a record between kafka-go and the bus. They
// copy the record's fields, never its bytes: the Key, Value and header
// slices are shared.
func fromKafka(m kafka.Message) Message {
	return Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value,
		Headers: fromKafkaHeaders(m.Headers), Time: m.Time}
}

func toKafka(m Message) kafka.Message {
	return kafka.Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value,
		Headers: toKafkaHeaders(m.Headers), Time: m.Time}
}

// fromKafkaHeaders and toKafkaHeaders view one slice of headers as the
// other type's, without copying: a record read at 100k records/s would
// otherwise cost a slice of headers more each. The two types have the same
// fields, which the pointer conversions check when compiling: a kafka-go
// whose Header differed from ours would not build. nil stays nil.
func fromKafkaHeaders(hs []kafka.Header) []Header {
	if hs == nil {
		return nil
	}
	return unsafe.Slice((*Header)(unsafe.SliceData(hs)), cap(hs))[:len(hs)]
}

func toKafkaHeaders(hs []Header) []kafka.Header {
	if hs == nil {
		return nil
	}
	return unsafe.Slice((*kafka.Header)(unsafe.SliceData(hs)), cap(hs))[:len(hs)]
}
