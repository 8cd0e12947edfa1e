package fieldcrypt_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
)

var update = flag.Bool("update", false, "rewrite the golden envelope")

func keys(dks ...fieldcrypt.DataKey) func(fieldcrypt.KeyID) ([32]byte, bool) {
	m := map[fieldcrypt.KeyID][32]byte{}
	for _, dk := range dks {
		m[dk.ID] = dk.Key
	}
	return func(id fieldcrypt.KeyID) ([32]byte, bool) { k, ok := m[id]; return k, ok }
}

func key(b byte) fieldcrypt.DataKey {
	var dk fieldcrypt.DataKey
	for i := range dk.ID {
		dk.ID[i] = b
	}
	for i := range dk.Key {
		dk.Key[i] = b + byte(i)
	}
	return dk
}

var rec = fieldcrypt.Identity{Domain: "civilstatus", Subject: "c2f1", RecordID: "r-1", Field: "birth_date"}

// An envelope opens for its record and field only: moved to another
// record, subject, domain or field, its key id swapped (even to an id
// naming the same key), a byte changed or cut, it is refused, and never
// opens to anything.
func TestAnEnvelopeOpensForItsRecordOnly(t *testing.T) {
	a, b := key(1), key(2)
	alias := fieldcrypt.DataKey{ID: key(3).ID, Key: a.Key} // another id, the same key
	env, err := fieldcrypt.Seal(a, rec, []byte("1946-03-14"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != fieldcrypt.Overhead+len("1946-03-14") {
		t.Fatalf("envelope of %d bytes", len(env))
	}
	got, err := fieldcrypt.Open(env, rec, keys(a, b))
	if err != nil || string(got) != "1946-03-14" {
		t.Fatalf("its own record: %q %v", got, err)
	}
	other := func(f func(*fieldcrypt.Identity)) fieldcrypt.Identity { id := rec; f(&id); return id }
	swap := func(to fieldcrypt.KeyID) []byte { e := bytes.Clone(env); copy(e[1:], to[:]); return e }
	flip := func(i int) []byte { e := bytes.Clone(env); e[i] ^= 1; return e }
	for _, tc := range []struct {
		name string
		env  []byte
		id   fieldcrypt.Identity
		want error
	}{
		{"another record", env, other(func(id *fieldcrypt.Identity) { id.RecordID = "r-2" }), fieldcrypt.ErrForged},
		{"another subject", env, other(func(id *fieldcrypt.Identity) { id.Subject = "c2f2" }), fieldcrypt.ErrForged},
		{"another domain", env, other(func(id *fieldcrypt.Identity) { id.Domain = "tax" }), fieldcrypt.ErrForged},
		{"another field", env, other(func(id *fieldcrypt.Identity) { id.Field = "death_date" }), fieldcrypt.ErrForged},
		{"fields run together", env, other(func(id *fieldcrypt.Identity) { id.Subject, id.RecordID = "c2f1\x00r-1", "" }), fieldcrypt.ErrForged},
		{"key id swapped to another key", swap(b.ID), rec, fieldcrypt.ErrForged},
		{"key id swapped to an alias of its key", swap(alias.ID), rec, fieldcrypt.ErrForged},
		{"a nonce byte changed", flip(1 + fieldcrypt.KeyIDSize), rec, fieldcrypt.ErrForged},
		{"a ciphertext byte changed", flip(len(env) - 1), rec, fieldcrypt.ErrForged},
		{"cut short", env[:fieldcrypt.Overhead-1], rec, fieldcrypt.ErrMalformed},
		{"another version", append([]byte{2}, env[1:]...), rec, fieldcrypt.ErrMalformed},
		{"empty", nil, rec, fieldcrypt.ErrMalformed},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "-"), func(t *testing.T) {
			got, err := fieldcrypt.Open(tc.env, tc.id, keys(a, b, alias))
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("got %q, %v; want %v", got, err, tc.want)
			}
		})
	}
	// Shredded: its key gone, nobody reads it, with any other key.
	if _, err := fieldcrypt.Open(env, rec, keys(b)); !errors.Is(err, fieldcrypt.ErrShredded) {
		t.Fatalf("key destroyed: %v", err)
	}
}

// Two envelopes of one value differ: a reader of the topic cannot tell
// that two records hold the same birth date.
func TestSealIsRandomised(t *testing.T) {
	e1, _ := fieldcrypt.Seal(key(1), rec, []byte("x"), rand.Reader)
	e2, _ := fieldcrypt.Seal(key(1), rec, []byte("x"), rand.Reader)
	if bytes.Equal(e1, e2) {
		t.Fatal("two envelopes of one value are equal")
	}
}

// The wire format, pinned: a fixed key and nonce give these bytes.
func TestGoldenEnvelope(t *testing.T) {
	nonce := bytes.NewReader(bytes.Repeat([]byte{0xab}, 12))
	env, err := fieldcrypt.Seal(key(7), rec, []byte("1946-03-14"), nonce)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "envelope.v1.hex")
	if *update {
		os.WriteFile(path, []byte(hex.EncodeToString(env)+"\n"), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(env); got != strings.TrimSpace(string(want)) {
		t.Fatalf("envelope %s, golden %s", got, want)
	}
}

// Whatever the bytes, Open never panics and opens nothing but the one
// envelope sealed for that record (a fixed nonce: every fuzzing process
// must seal the same one).
func FuzzOpen(f *testing.F) {
	env, _ := fieldcrypt.Seal(key(1), rec, []byte("1946-03-14"), bytes.NewReader(make([]byte, 12)))
	f.Add(env, "r-1")
	f.Add([]byte{1}, "")
	f.Fuzz(func(t *testing.T, b []byte, recordID string) {
		id := rec
		id.RecordID = recordID
		got, err := fieldcrypt.Open(b, id, keys(key(1)))
		if err == nil && !(bytes.Equal(b, env) && recordID == "r-1") {
			t.Fatalf("opened %x for %q to %q", b, recordID, got)
		}
	})
}
