package seal

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// Key is a verification key as the trust registry knows it.
type Key struct {
	ID     string
	Member string
	Alg    string // EdDSA or ES256
	Public any    // ed25519.PublicKey or *ecdsa.PublicKey
}

// Keys answers for the trust registry. SigningKey returns ErrUnknownKey or
// ErrRevokedKey (a revoked key, or any key of a revoked member).
type Keys interface {
	SigningKey(kid string) (Key, error)
	MayPublish(member, domain string) bool
}

// Record is what verification needs of a Kafka record and its decoded meta.
type Record struct {
	Domain  string // from the topic name
	Key     []byte // the Kafka key
	Value   []byte
	Sig     []byte // header passerelle-sig, if present
	Batch   []byte // header passerelle-batch, if present
	Source  string // meta.source
	Subject string // meta.subject
}

// Verifier checks record signatures against the trust registry. It is safe
// for concurrent use.
type Verifier struct {
	keys    Keys
	headers sync.Pool // of *batchHeader: its path is 2 KB
	nodes   nodeMemo

	mu    sync.RWMutex
	roots map[string]string // root signature+root+size already verified → kid
}

// maxCachedRoots bounds the root cache; a full cache is simply dropped.
const maxCachedRoots = 8192

// NewVerifier returns a verifier over keys.
func NewVerifier(keys Keys) *Verifier {
	return &Verifier{keys: keys, roots: map[string]string{}, headers: sync.Pool{New: func() any { return new(batchHeader) }}}
}

// Verify checks the signature and that the signer could publish this record
// here: its key is the source member's, the member publishes to the domain,
// and the Kafka key is the record's subject.
func (v *Verifier) Verify(r Record) (Key, error) {
	k, err := v.Signature(r.Value, r.Sig, r.Batch)
	if err != nil {
		return Key{}, err
	}
	if k.Member != r.Source {
		return k, fmt.Errorf("%w: key %s is %s's, meta.source says %s", ErrWrongSource, k.ID, k.Member, r.Source)
	}
	if !v.keys.MayPublish(k.Member, r.Domain) {
		return k, fmt.Errorf("%w: %s to %s", ErrNotPublisher, k.Member, r.Domain)
	}
	if !bytes.Equal(r.Key, []byte(r.Subject)) {
		return k, ErrKeyMismatch
	}
	return k, nil
}

// Signature verifies whichever signature header the record carries and
// returns the key that made it.
func (v *Verifier) Signature(value, sig, batch []byte) (Key, error) {
	switch {
	case sig != nil && batch != nil:
		return Key{}, fmt.Errorf("%w: both %s and %s", ErrMalformed, HeaderSig, HeaderBatch)
	case sig != nil:
		return v.verifyDetached(sig, value, "", 0)
	case batch != nil:
		return v.verifyBatch(value, batch)
	}
	return Key{}, ErrUnsigned
}

func (v *Verifier) verifyBatch(value, raw []byte) (Key, error) {
	h := v.headers.Get().(*batchHeader)
	defer v.headers.Put(h)
	if !parseBatchHeader(raw, h) {
		return Key{}, fmt.Errorf("%w: %s is not in its canonical form", ErrMalformed, HeaderBatch)
	}
	rootSig, index, size, path := h.rootSig, h.index, h.size, h.path[:h.n]
	root, err := rootFromPath(LeafHash(value), index, size, path, v.nodes.node)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %w", ErrBadInclusion, err)
	}
	// The root signature is shared by the whole batch: verify it once.
	h.key = strconv.AppendUint(append(append(h.key[:0], rootSig...), root[:]...), size, 10)
	v.mu.RLock()
	kid, seen := v.roots[string(h.key)] // no copy: a lookup by converted bytes
	v.mu.RUnlock()
	if seen {
		// Still ask the registry: the key may have been revoked since.
		return v.keys.SigningKey(kid)
	}
	k, err := v.verifyDetached(rootSig, root[:], rootType, size)
	if err != nil {
		return k, err
	}
	v.mu.Lock()
	if len(v.roots) >= maxCachedRoots {
		clear(v.roots)
	}
	v.roots[string(h.key)] = k.ID
	v.mu.Unlock()
	return k, nil
}

// verifyDetached checks a compact JWS with detached payload over payload.
// A root signature (wantTyp set) must also name the tree size claimed.
func (v *Verifier) verifyDetached(compact, payload []byte, wantTyp string, treeSize uint64) (Key, error) {
	hdr, body, sigB64, err := jwsbb.SplitCompact(compact)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(body) != 0 {
		return Key{}, fmt.Errorf("%w: payload is not detached", ErrMalformed)
	}
	h := jwsbb.HeaderParseCompact(hdr)
	alg, err := jwsbb.HeaderGetString(h, "alg")
	if err != nil {
		return Key{}, fmt.Errorf("%w: no alg", ErrMalformed)
	}
	if alg != EdDSA && alg != ES256 {
		return Key{}, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
	// b64=false would change what the signature covers, and crit would ask
	// us to understand extensions we do not: refuse both.
	if jwsbb.HeaderHas(h, "b64") || jwsbb.HeaderHas(h, "crit") {
		return Key{}, fmt.Errorf("%w: b64 or crit header", ErrMalformed)
	}
	if typ, _ := jwsbb.HeaderGetString(h, "typ"); typ != wantTyp {
		return Key{}, fmt.Errorf("%w: typ %q where %q was expected", ErrBadSignature, typ, wantTyp)
	}
	if wantTyp == rootType {
		if n, err := jwsbb.HeaderGetUint64(h, treeSizeParam); err != nil || n != treeSize {
			return Key{}, fmt.Errorf("%w: root signed for another tree size", ErrBadInclusion)
		}
	}
	kid, err := jwsbb.HeaderGetString(h, "kid")
	if err != nil {
		return Key{}, fmt.Errorf("%w: no kid", ErrMalformed)
	}
	k, err := v.keys.SigningKey(kid)
	if err != nil {
		return Key{}, err
	}
	if k.Alg != alg {
		return Key{}, fmt.Errorf("%w: header says %s, key %s is %s", ErrAlgorithm, alg, kid, k.Alg)
	}
	sig := make([]byte, b64.DecodedLen(len(sigB64)))
	n, err := b64.Decode(sig, sigB64)
	if err != nil {
		return Key{}, fmt.Errorf("%w: signature encoding", ErrMalformed)
	}
	input := make([]byte, 0, len(hdr)+1+b64.EncodedLen(len(payload)))
	input = append(append(input, hdr...), '.')
	input = b64.AppendEncode(input, payload)
	if err := jwsbb.Verify(k.Public, alg, input, sig[:n]); err != nil {
		return Key{}, fmt.Errorf("%w: key %s", ErrBadSignature, kid)
	}
	return k, nil
}
