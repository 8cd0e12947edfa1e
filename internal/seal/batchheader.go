package seal

import (
	"bytes"
	"strconv"
)

// maxPathLen bounds an inclusion path: a tree of 2^64 leaves has 64 levels.
const maxPathLen = 64

// batchHeader is a passerelle-batch header read.
type batchHeader struct {
	rootSig     []byte // aliases the header's bytes
	index, size uint64
	n           int // path[:n] is the inclusion path
	path        [maxPathLen]Hash
	key         []byte // scratch for the root cache's key
}

// parseBatchHeader reads raw in the one canonical form appendBatchHeader
// writes, and nothing else: any other spelling of the same JSON (spaces,
// escapes, key order, extra keys, leading zeros) is refused, as comparing
// with a rewritten header did, but in one pass without a JSON parser,
// which cost the view's build more than the hashing.
func parseBatchHeader(raw []byte, h *batchHeader) bool {
	rest, ok := bytes.CutPrefix(raw, []byte(`{"root_sig":"`))
	if !ok {
		return false
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 || !isJWSCompact(rest[:end]) {
		return false
	}
	h.rootSig, rest = rest[:end], rest[end:]
	if rest, ok = bytes.CutPrefix(rest, []byte(`","index":`)); !ok {
		return false
	}
	if h.index, rest, ok = cutUint(rest); !ok {
		return false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"size":`)); !ok {
		return false
	}
	if h.size, rest, ok = cutUint(rest); !ok {
		return false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"path":[`)); !ok {
		return false
	}
	const quoted = 1 + 43 + 1 // b64.EncodedLen(32) between quotes
	h.n = 0
	for len(rest) > 0 && rest[0] != ']' {
		if h.n > 0 {
			if rest[0] != ',' {
				return false
			}
			rest = rest[1:]
		}
		if h.n == maxPathLen || len(rest) < quoted || rest[0] != '"' || rest[quoted-1] != '"' {
			return false
		}
		if n, err := b64.Decode(h.path[h.n][:], rest[1:quoted-1]); err != nil || n != len(Hash{}) {
			return false
		}
		h.n++
		rest = rest[quoted:]
	}
	return string(rest) == "]}"
}

// cutUint reads a decimal number with no sign and no leading zero.
func cutUint(b []byte) (uint64, []byte, bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 || (i > 1 && b[0] == '0') {
		return 0, nil, false
	}
	n, err := strconv.ParseUint(string(b[:i]), 10, 64)
	return n, b[i:], err == nil
}

// isJWSCompact: only base64url characters and the dots between parts,
// which is all a detached compact JWS holds and needs no JSON escaping.
func isJWSCompact(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return len(b) > 0
}
