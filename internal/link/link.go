// Package link lets the gateway, and only the gateway, join one citizen's
// records across domains without a NIR.
//
// Each citizen has a link id, the first 16 bytes of HMAC-SHA256(NIR) under
// the keyring key "link". The id never travels in clear: a connector seals
// it into the header passerelle-link of every record it publishes, with
// AES-256-GCM under a key of its domain, a fresh random nonce, and the
// record's domain, subject and record id as associated data. So two
// records of one citizen carry unrelated header bytes, in two topics as in
// one, and a header moved to another record no longer opens. The gateway
// holds every domain's seal key and opens them.
//
// Header value, base64url without padding (text, which stock tools carry):
//
//	version 0x01 ‖ nonce (12 bytes) ‖ AES-256-GCM(seal key, nonce, id, AAD) (16 + 16 bytes)
//	AAD = domain ‖ 0x00 ‖ subject ‖ 0x00 ‖ record id
//	seal key = HMAC-SHA256("passerelle-link-seal/v1") under keyring key "link-seal-<domain>"
//
// With Vault Transit the keyring's HMAC keys never leave Vault; only the
// derived seal keys do, each to its domain's connector and to the gateway.
package link

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

// ID is a citizen's link id: the same in every domain, known only to the
// connectors (which hold the NIR anyway) and the gateway.
type ID [16]byte

// Header is the Kafka header that carries a sealed ID.
const Header = "passerelle-link"

// Layout of a version-1 token.
const (
	version1  = 1
	nonceSize = 12
	tagSize   = 16
	tokenSize = 1 + nonceSize + len(ID{}) + tagSize
)

// sealLabel is what a domain's seal key is the HMAC of.
var sealLabel = []byte("passerelle-link-seal/v1")

var b64 = base64.RawURLEncoding

// HeaderSize is the length of a header value: 60 characters.
var HeaderSize = b64.EncodedLen(tokenSize)

// IDs returns each citizen's link id, in one keyring call. An invalid NIR
// fails the batch with a *pseudo.NIRError naming its index.
func IDs(ctx context.Context, kr pseudo.Keyring, nirs []string) ([]ID, error) {
	msgs := make([][]byte, len(nirs))
	for i, n := range nirs {
		if err := pseudo.ValidateNIR(n); err != nil {
			return nil, &pseudo.NIRError{Index: i, Err: err}
		}
		msgs[i] = []byte(n)
	}
	sums, err := kr.HMAC(ctx, pseudo.KeyLink, msgs)
	if err != nil {
		return nil, fmt.Errorf("link ids: %w", err)
	}
	if len(sums) != len(nirs) {
		return nil, fmt.Errorf("link ids: keyring returned %d sums for %d inputs", len(sums), len(nirs))
	}
	out := make([]ID, len(sums))
	for i, s := range sums {
		if len(s) < len(ID{}) {
			return nil, fmt.Errorf("link ids: keyring returned %d bytes, want 32", len(s))
		}
		copy(out[i][:], s)
	}
	return out, nil
}

// aead derives domain's seal key from the keyring and returns its cipher.
func aead(ctx context.Context, kr pseudo.Keyring, domain string) (cipher.AEAD, error) {
	if domain == "" || strings.IndexByte(domain, 0) >= 0 {
		return nil, fmt.Errorf("link: domain %q: empty or holds a NUL", domain)
	}
	sums, err := kr.HMAC(ctx, pseudo.LinkSealKey(domain), [][]byte{sealLabel})
	if err != nil {
		return nil, fmt.Errorf("derive link seal key of %s: %w", domain, err)
	}
	if len(sums) != 1 || len(sums[0]) != 32 {
		return nil, fmt.Errorf("derive link seal key of %s: keyring returned no 32-byte sum", domain)
	}
	block, err := aes.NewCipher(sums[0])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// aad binds a token to its record. The parts are NUL-separated, so none
// may hold a NUL: Seal refuses them, Open fails them.
func aad(buf []byte, domain, subject, recordID string) []byte {
	buf = append(buf, domain...)
	buf = append(buf, 0)
	buf = append(buf, subject...)
	buf = append(buf, 0)
	return append(buf, recordID...)
}

func hasNUL(s ...string) bool {
	for _, x := range s {
		if strings.IndexByte(x, 0) >= 0 {
			return true
		}
	}
	return false
}

// Sealer seals link ids into the headers of one domain's records. It is
// safe for concurrent use.
type Sealer struct {
	domain string
	kr     pseudo.Keyring
	gcm    cipher.AEAD
}

// NewSealer derives domain's seal key, once.
func NewSealer(ctx context.Context, kr pseudo.Keyring, domain string) (*Sealer, error) {
	g, err := aead(ctx, kr, domain)
	if err != nil {
		return nil, err
	}
	return &Sealer{domain: domain, kr: kr, gcm: g}, nil
}

// Domain is the domain the sealer seals for.
func (s *Sealer) Domain() string { return s.domain }

// IDs is IDs over the sealer's keyring, for a connector that holds only
// the sealer.
func (s *Sealer) IDs(ctx context.Context, nirs []string) ([]ID, error) {
	return IDs(ctx, s.kr, nirs)
}

// Seal returns the header value for the record (subject, recordID) of the
// sealer's domain about citizen id. Every call draws a new nonce.
func (s *Sealer) Seal(id ID, subject, recordID string) ([]byte, error) {
	if hasNUL(subject, recordID) {
		return nil, fmt.Errorf("link: subject or record id holds a NUL")
	}
	var raw [tokenSize]byte
	raw[0] = version1
	nonce := raw[1 : 1+nonceSize]
	rand.Read(nonce) // never fails (crypto/rand, Go 1.24+)
	var ad [128]byte
	s.gcm.Seal(raw[1+nonceSize:1+nonceSize], nonce, id[:], aad(ad[:0], s.domain, subject, recordID))
	out := make([]byte, HeaderSize)
	b64.Encode(out, raw[:])
	return out, nil
}

// Opener opens the headers of every domain the gateway reads. It is safe
// for concurrent use.
type Opener struct {
	gcm  map[string]cipher.AEAD
	bufs sync.Pool // of *openBuf
}

// openBuf is what Open decodes and decrypts into. Passed to cipher.AEAD,
// an interface, the buffers would escape: on the stack they cost three
// heap allocations per record, at ingest rate.
type openBuf struct {
	raw [tokenSize + 3]byte // base64 decodes in blocks: room for a stray one
	ad  [128]byte
	pt  [len(ID{})]byte
}

// NewOpener derives the seal key of each domain, once.
func NewOpener(ctx context.Context, kr pseudo.Keyring, domains []string) (*Opener, error) {
	o := &Opener{gcm: make(map[string]cipher.AEAD, len(domains))}
	for _, d := range domains {
		g, err := aead(ctx, kr, d)
		if err != nil {
			return nil, err
		}
		o.gcm[d] = g
	}
	return o, nil
}

// Open returns the link id sealed in header, the value of a record's
// passerelle-link header (nil if it has none), after checking that it was
// sealed for this very record: domain, subject (the Kafka key) and
// meta.record_id.
func (o *Opener) Open(domain, subject, recordID string, header []byte) (ID, error) {
	var id ID
	g, ok := o.gcm[domain]
	switch {
	case !ok:
		return id, fmt.Errorf("%w %q", ErrUnknownDomain, domain)
	case len(header) == 0:
		return id, ErrMissing
	case len(header) != HeaderSize:
		return id, fmt.Errorf("%w: %d characters, want %d", ErrMalformed, len(header), HeaderSize)
	}
	buf, _ := o.bufs.Get().(*openBuf)
	if buf == nil {
		buf = new(openBuf)
	}
	defer o.bufs.Put(buf)
	raw := &buf.raw
	n, err := b64.Decode(raw[:], header)
	switch {
	case err != nil || n != tokenSize:
		return id, fmt.Errorf("%w: not base64url of %d bytes", ErrMalformed, tokenSize)
	case raw[0] != version1:
		return id, fmt.Errorf("%w: version %d, want %d", ErrMalformed, raw[0], version1)
	case hasNUL(subject, recordID):
		return id, ErrForged
	}
	if _, err := g.Open(buf.pt[:0], raw[1:1+nonceSize], raw[1+nonceSize:tokenSize], aad(buf.ad[:0], domain, subject, recordID)); err != nil {
		return id, ErrForged
	}
	copy(id[:], buf.pt[:])
	return id, nil
}
