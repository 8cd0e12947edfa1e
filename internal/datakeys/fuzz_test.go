package datakeys

import (
	"strings"
	"testing"
)

// FuzzParse: any value and key either parse to a record whose fields
// hold what its kind needs, or are refused as malformed; never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("epoch/00112233445566778899aabbccddeeff"), []byte(`{"kind":"epoch","domain":"tax","epoch":"00112233445566778899aabbccddeeff","kek":"file:v1:AAAA","time":"2026-12-07T00:00:00Z"}`))
	f.Add([]byte("erased/s1/00112233445566778899aabbccddeeff"), []byte(`{"kind":"erased","domain":"tax","subject":"s1","erasure":{"id":"e","reason":"r","legal_basis":"l","key_ids":["00112233445566778899aabbccddeeff"]}}`))
	f.Add([]byte("s1"), []byte(`{"kind":"key","domain":"tax","subject":"s1","epoch":"00112233445566778899aabbccddeeff","key_id":"00112233445566778899aabbccddeeff","wrapped":"`+strings.Repeat("A", 80)+`"}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		r, err := parse("tax", key, value)
		if err != nil {
			return
		}
		if r.Domain != "tax" || string(key) != r.Key() {
			t.Fatalf("parsed a record of %q under key %q", r.Domain, key)
		}
		switch r.Kind {
		case KindKey:
			if _, ok := KeyIDOf(r.KeyID); !ok || len(r.Wrapped) != wrappedSize {
				t.Fatal("a key record without a key")
			}
		case KindErased:
			if r.Erasure == nil {
				t.Fatal("an erasure without its reasons")
			}
		case KindEpoch:
		default:
			t.Fatalf("kind %q", r.Kind)
		}
	})
}
