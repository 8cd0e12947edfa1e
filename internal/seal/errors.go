package seal

import "errors"

// Verification failures. Each is its own error so that a consumer counts
// rejected records by cause; none of them may reach a view.
var (
	// ErrUnsigned: the record has neither passerelle-sig nor
	// passerelle-batch.
	ErrUnsigned = errors.New("record is not signed")
	// ErrMalformed: a signature header that does not parse.
	ErrMalformed = errors.New("malformed signature header")
	// ErrAlgorithm: an algorithm other than EdDSA or ES256 (HMAC and none
	// are always refused).
	ErrAlgorithm = errors.New("signature algorithm not allowed")
	// ErrUnknownKey: the kid is in no member's JWKS.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrRevokedKey: the key, or its member, has been revoked.
	ErrRevokedKey = errors.New("signing key revoked")
	// ErrBadSignature: the signature does not verify over the value (or,
	// in batch mode, over the root the value's path leads to).
	ErrBadSignature = errors.New("signature does not verify")
	// ErrBadInclusion: the batch path does not fit the tree it claims.
	ErrBadInclusion = errors.New("bad merkle inclusion path")
	// ErrWrongSource: the key belongs to another member than meta.source.
	ErrWrongSource = errors.New("signing key is not the source member's")
	// ErrNotPublisher: the source member may not publish to this domain.
	ErrNotPublisher = errors.New("member may not publish to this domain")
	// ErrKeyMismatch: the Kafka key is not meta.subject (a record re-keyed
	// to another citizen).
	ErrKeyMismatch = errors.New("kafka key differs from meta.subject")
)
