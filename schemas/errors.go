package schemas

import "errors"

// Decoding errors. Each is distinct so that a consumer can count and route
// bad records by cause; all of them mean the record must not be served.
var (
	// ErrBadMagic: the value does not start with the Confluent magic byte 0,
	// so it was not written by a Confluent-compatible serializer.
	ErrBadMagic = errors.New("not confluent wire format: bad magic byte")
	// ErrTruncated: the value ends before the Avro record does, or is
	// shorter than the 5-byte header.
	ErrTruncated = errors.New("truncated value")
	// ErrUnknownSchemaID: the writer's schema id is not in the registry.
	ErrUnknownSchemaID = errors.New("unknown schema id")
	// ErrSubjectMismatch: the writer's schema belongs to another subject
	// than the topic's, e.g. a health record replayed onto the tax topic.
	ErrSubjectMismatch = errors.New("schema of another subject")
	// ErrMalformed: the Avro body does not decode under the writer's schema
	// (bad varint, oversized length, trailing bytes...).
	ErrMalformed = errors.New("malformed avro body")
	// ErrIncompatible: the reader's schema cannot read the writer's.
	ErrIncompatible = errors.New("incompatible reader and writer schemas")
	// ErrSealed: the record's personal fields are sealed
	// (internal/fieldcrypt); it decodes once opened, or DecodeMeta reads
	// its meta alone.
	ErrSealed = errors.New("sealed record")
	// ErrUnknownSubject: no such subject in the registry.
	ErrUnknownSubject = errors.New("unknown subject")
)
