// Package seal signs and verifies records (docs/DESIGN.md, "Kafka").
//
// Per-record mode: header passerelle-sig holds a compact JWS with detached
// payload (RFC 7515 appendix F) over the record value. Batch mode: one
// signature over the Merkle root of a batch; each record carries, in header
// passerelle-batch, the root signature and its own inclusion path, so it
// verifies on its own. The value signed is the whole Confluent-framed value,
// whose schema id binds it to its topic's subject: a record replayed onto
// another domain's topic fails decoding, not only the role check.
package seal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/passerelle-bus/passerelle/internal/bus"
)

// Kafka header names.
const (
	HeaderSig   = "passerelle-sig"
	HeaderBatch = "passerelle-batch"
)

// rootType marks root signatures, so that a signature over a batch root can
// never pass for a record signature or the reverse.
const rootType = "passerelle-merkle-root"

// Strict: a base64url string with non-zero padding bits decodes to the same
// bytes as the canonical one, and would let a flipped bit go unnoticed.
var b64 = base64.RawURLEncoding.Strict()

// Sealer produces signature headers with one signer.
type Sealer struct {
	s         Signer
	recHeader string // base64url protected header of record signatures
}

// NewSealer returns a sealer signing with s.
func NewSealer(s Signer) *Sealer {
	return &Sealer{s: s, recHeader: protected(s, nil)}
}

// protected returns the base64url protected header. A root signature also
// names its type and the tree size: the root alone does not fix the size,
// and an unsigned size could be changed without breaking the path check.
func protected(s Signer, treeSize *uint64) string {
	h := map[string]any{"alg": s.Algorithm(), "kid": s.KeyID()}
	if treeSize != nil {
		h["typ"], h[treeSizeParam] = rootType, *treeSize
	}
	b, _ := json.Marshal(h)
	return b64.EncodeToString(b)
}

// treeSizeParam is the protected-header parameter of a root signature that
// holds the batch size.
const treeSizeParam = "tree_size"

// KeyID is the signing key's id.
func (z *Sealer) KeyID() string { return z.s.KeyID() }

func signingInput(hdr string, payload []byte) []byte {
	in := make([]byte, 0, len(hdr)+1+b64.EncodedLen(len(payload)))
	in = append(in, hdr...)
	in = append(in, '.')
	return b64.AppendEncode(in, payload)
}

func detached(hdr string, sig []byte) []byte {
	out := make([]byte, 0, len(hdr)+2+b64.EncodedLen(len(sig)))
	out = append(out, hdr...)
	out = append(out, '.', '.')
	return b64.AppendEncode(out, sig)
}

// SignEach returns a passerelle-sig header value for each value.
func (z *Sealer) SignEach(ctx context.Context, values [][]byte) ([][]byte, error) {
	inputs := make([][]byte, len(values))
	for i, v := range values {
		inputs[i] = signingInput(z.recHeader, v)
	}
	sigs, err := z.s.Sign(ctx, inputs)
	if err != nil {
		return nil, fmt.Errorf("sign %d records: %w", len(values), err)
	}
	out := make([][]byte, len(sigs))
	for i, sig := range sigs {
		out[i] = detached(z.recHeader, sig)
	}
	return out, nil
}

// SignBatch signs the Merkle root of values once and returns a
// passerelle-batch header value for each value.
func (z *Sealer) SignBatch(ctx context.Context, values [][]byte) ([][]byte, error) {
	if len(values) == 0 {
		return nil, nil
	}
	leaves := make([]Hash, len(values))
	for i, v := range values {
		leaves[i] = LeafHash(v)
	}
	tr := buildTree(leaves)
	root := tr.root()
	size := uint64(len(values))
	rootHeader := protected(z.s, &size)
	sigs, err := z.s.Sign(ctx, [][]byte{signingInput(rootHeader, root[:])})
	if err != nil {
		return nil, fmt.Errorf("sign batch root of %d records: %w", len(values), err)
	}
	rootSig := detached(rootHeader, sigs[0])
	out := make([][]byte, len(values))
	for i := range values {
		out[i] = appendBatchHeader(nil, rootSig, uint64(i), uint64(len(values)), tr.path(i))
	}
	return out, nil
}

// appendBatchHeader writes the passerelle-batch header in its one canonical
// form. Verifiers rebuild it and compare, so no other spelling of the same
// JSON (case, spaces, extra keys) is accepted. Written by hand: encoding/json
// would cost more than the hashing.
func appendBatchHeader(h, rootSig []byte, index, size uint64, path []Hash) []byte {
	h = append(h, `{"root_sig":"`...)
	h = append(h, rootSig...)
	h = append(h, `","index":`...)
	h = strconv.AppendUint(h, index, 10)
	h = append(h, `,"size":`...)
	h = strconv.AppendUint(h, size, 10)
	h = append(h, `,"path":[`...)
	for j, p := range path {
		if j > 0 {
			h = append(h, ',')
		}
		h = append(h, '"')
		h = b64.AppendEncode(h, p[:])
		h = append(h, '"')
	}
	return append(h, "]}"...)
}

// Headers picks a record's signature headers: passerelle-sig and
// passerelle-batch, nil when absent.
func Headers(hs []bus.Header) (sig, batch []byte) {
	for _, h := range hs {
		switch h.Key {
		case HeaderSig:
			sig = h.Value
		case HeaderBatch:
			batch = h.Value
		}
	}
	return sig, batch
}
