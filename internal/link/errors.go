package link

import "errors"

// Errors of Open. None says more than which: the gateway counts them by
// reason and leaves the record out of cross-domain statistics; the record
// itself, signed, stays valid for the citizen view.
var (
	// ErrMissing: the record has no linkage header, e.g. it was published
	// before headers existed. Count it; it joins nothing.
	ErrMissing = errors.New("link: no linkage header")
	// ErrMalformed: the header is not a version-1 token (bad base64,
	// wrong length, unknown version). Count it; a publisher is broken.
	ErrMalformed = errors.New("link: malformed linkage header")
	// ErrForged: the header parses but does not open: sealed under
	// another key, moved from another record, or tampered with. Count it
	// and alert: it is what an attack looks like.
	ErrForged = errors.New("link: linkage header does not open")
	// ErrUnknownDomain: the opener holds no key for the record's domain.
	// A configuration error: give NewOpener every domain read.
	ErrUnknownDomain = errors.New("link: no seal key for domain")
)
