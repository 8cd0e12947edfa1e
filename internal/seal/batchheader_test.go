package seal

import (
	"bytes"
	"encoding/json"
	"testing"
)

// canonicalByJSON is how verifiers read a batch header before
// parseBatchHeader: any JSON parse, then the header written again from
// what it said must be the same bytes. The one-pass reader must accept
// exactly what it accepts, and read the same from it.
func canonicalByJSON(raw []byte) (batchHeader, bool) {
	var doc struct {
		RootSig string   `json:"root_sig"`
		Index   *uint64  `json:"index"`
		Size    *uint64  `json:"size"`
		Path    []string `json:"path"`
	}
	var h batchHeader
	if json.Unmarshal(raw, &doc) != nil || doc.Index == nil || doc.Size == nil || doc.Path == nil || len(doc.Path) > maxPathLen {
		return h, false
	}
	for i, s := range doc.Path {
		if len(s) != b64.EncodedLen(len(Hash{})) {
			return h, false
		}
		if n, err := b64.Decode(h.path[i][:], []byte(s)); err != nil || n != len(Hash{}) {
			return h, false
		}
	}
	h.rootSig, h.index, h.size, h.n = []byte(doc.RootSig), *doc.Index, *doc.Size, len(doc.Path)
	again := appendBatchHeader(nil, h.rootSig, h.index, h.size, h.path[:h.n])
	// The root signature holds only base64url and dots; JSON could spell
	// another string that escapes nothing, which the signature check
	// would refuse later: the one-pass reader refuses it here.
	return h, bytes.Equal(raw, again) && isJWSCompact(h.rootSig)
}

func batchHeaderSeeds() [][]byte {
	p := []Hash{{1}, {2, 3}, {0xff}}
	ok := appendBatchHeader(nil, []byte("eyJhbGciOiJFZERTQSJ9..c2ln"), 2, 3, p)
	return [][]byte{
		ok,
		appendBatchHeader(nil, []byte("a.b.c"), 0, 1, nil),
		appendBatchHeader(nil, []byte("a.b.c"), 18446744073709551615, 18446744073709551615, p[:1]),
		bytes.Replace(ok, []byte(`"index":2`), []byte(`"index":02`), 1),
		bytes.Replace(ok, []byte(`"index":2`), []byte(`"index": 2`), 1),
		bytes.Replace(ok, []byte(`"root_sig"`), []byte(`"Root_sig"`), 1),
		bytes.Replace(ok, []byte(`c2ln`), []byte(`c2l\u006e`), 1),
		bytes.Replace(ok, []byte(`]}`), []byte(`],"x":1}`), 1),
		append(bytes.Clone(ok), ' '),
		[]byte(`{"root_sig":"a..b","index":0,"size":1,"path":[]}`),
		[]byte(`{"root_sig":"a..b","index":0,"size":18446744073709551616,"path":[]}`),
		[]byte(`{"root_sig":"","index":0,"size":1,"path":[]}`),
	}
}

func TestParseBatchHeaderAgreesWithJSON(t *testing.T) {
	for _, raw := range batchHeaderSeeds() {
		checkBatchHeader(t, raw)
	}
}

func FuzzParseBatchHeader(f *testing.F) {
	for _, raw := range batchHeaderSeeds() {
		f.Add(raw)
	}
	f.Fuzz(checkBatchHeader)
}

func checkBatchHeader(t *testing.T, raw []byte) {
	want, wantOK := canonicalByJSON(raw)
	var got batchHeader
	gotOK := parseBatchHeader(raw, &got)
	if gotOK != wantOK {
		t.Fatalf("%q: one pass says %v, JSON and rewrite say %v", raw, gotOK, wantOK)
	}
	if !gotOK {
		return
	}
	if !bytes.Equal(got.rootSig, want.rootSig) || got.index != want.index || got.size != want.size || got.path != want.path || got.n != want.n {
		t.Fatalf("%q: read differently", raw)
	}
}
