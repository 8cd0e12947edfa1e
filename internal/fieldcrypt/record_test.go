package fieldcrypt_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/schemas"
)

// sealedSample is one domain's sample record, clear and sealed.
type sealedSample struct {
	name          string
	plan          *fieldcrypt.Plan
	clear, sealed []byte // bodies, without the wire header
	subject, id   string
}

func dk(b byte) fieldcrypt.DataKey {
	var k fieldcrypt.DataKey
	k.ID[0], k.Key[0] = b, b
	return k
}

func lookup(keys ...fieldcrypt.DataKey) func(fieldcrypt.KeyID) ([32]byte, error) {
	return func(id fieldcrypt.KeyID) ([32]byte, error) {
		for _, k := range keys {
			if k.ID == id {
				return k.Key, nil
			}
		}
		return [32]byte{}, fieldcrypt.ErrShredded
	}
}

func samples(t testing.TB) []sealedSample {
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	codec := schemas.NewCodec(cat)
	var out []sealedSample
	for _, d := range domains.All() {
		s, _ := cat.Subject(d.Subject())
		plan, err := fieldcrypt.NewPlan(d.Name, s.Latest().Schema, d.Sealed())
		if err != nil {
			t.Fatal(err)
		}
		rec := d.Sample()
		wire, err := codec.Encode(d.Subject(), rec)
		if err != nil {
			t.Fatal(err)
		}
		_, meta, err := d.Decode(codec, wire)
		if err != nil {
			t.Fatal(err)
		}
		body := wire[schemas.HeaderSize:]
		sealed, err := plan.Seal(nil, body, dk(1), meta.Subject, meta.RecordID, rand.Reader)
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		out = append(out, sealedSample{d.Name, plan, body, sealed, meta.Subject, meta.RecordID})
	}
	return out
}

func TestSealOpenEveryDomain(t *testing.T) {
	for _, s := range samples(t) {
		t.Run(s.name, func(t *testing.T) {
			if len(s.plan.Fields()) == 0 {
				t.Fatal("no sealed field: every domain holds something personal")
			}
			// The sealed record is a value of the sealed schema, which a
			// reader without keys decodes: its personal fields are
			// envelopes, the rest as published.
			var generic map[string]any
			if err := avro.Unmarshal(s.plan.Sealed(), s.sealed, &generic); err != nil {
				t.Fatalf("sealed record does not decode with the sealed schema: %v", err)
			}
			var clear map[string]any
			if err := avro.Unmarshal(cleanSchema(t, s), s.clear, &clear); err != nil {
				t.Fatal(err)
			}
			for _, f := range s.plan.Fields() {
				env, ok := generic[f].([]byte)
				if !ok || len(env) < fieldcrypt.Overhead {
					t.Fatalf("field %s: %T, want an envelope", f, generic[f])
				}
			}
			for _, f := range s.plan.Fields() {
				if v, ok := clear[f].(string); ok && len(v) >= 4 && bytes.Contains(s.sealed, []byte(v)) {
					t.Fatalf("field %s: %q is in clear in the sealed record", f, v)
				}
			}
			got, err := s.plan.Open(nil, s.sealed, s.subject, s.id, lookup(dk(1)))
			if err != nil || !bytes.Equal(got, s.clear) {
				t.Fatalf("open: %v; the clear body must come back byte for byte", err)
			}
			ids, err := s.plan.KeyIDs(s.sealed)
			if err != nil || len(ids) != 1 || ids[0] != dk(1).ID {
				t.Fatalf("key ids %v, %v", ids, err)
			}
		})
	}
}

// An envelope moved to another record, another subject or another field
// does not open; a key that is gone shreds the record.
func TestSealedRecordsRefuseWhatWasMoved(t *testing.T) {
	for _, s := range samples(t) {
		t.Run(s.name, func(t *testing.T) {
			for _, tc := range []struct {
				name        string
				subject, id string
				keys        []fieldcrypt.DataKey
				want        error
			}{
				{"another record", s.subject, s.id + "x", []fieldcrypt.DataKey{dk(1)}, fieldcrypt.ErrForged},
				{"another citizen", s.subject + "x", s.id, []fieldcrypt.DataKey{dk(1)}, fieldcrypt.ErrForged},
				{"key destroyed", s.subject, s.id, []fieldcrypt.DataKey{dk(2)}, fieldcrypt.ErrShredded},
				{"a key of that id but other bytes", s.subject, s.id, []fieldcrypt.DataKey{{ID: dk(1).ID, Key: dk(3).Key}}, fieldcrypt.ErrForged},
			} {
				if _, err := s.plan.Open(nil, s.sealed, tc.subject, tc.id, lookup(tc.keys...)); !errors.Is(err, tc.want) {
					t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
				}
			}
		})
	}
}

// FuzzOpenRecord: any bytes given as a sealed body either open to a
// clear body of the schema or are refused, and never panic.
func FuzzOpenRecord(f *testing.F) {
	ss := samples(f)
	for i, s := range ss {
		f.Add(i, s.sealed)
	}
	f.Fuzz(func(t *testing.T, which int, body []byte) {
		if which < 0 {
			which = -which
		}
		s := ss[which%len(ss)]
		clear, err := s.plan.Open(nil, body, s.subject, s.id, lookup(dk(1)))
		if err != nil {
			return
		}
		var v map[string]any
		// What opens is a clear record of the clear schema... whose
		// sealed fields were sealed by a key holder: it must decode.
		if err := avro.Unmarshal(cleanSchema(t, s), clear, &v); err != nil {
			t.Fatalf("opened to bytes that are not a clear record: %v", err)
		}
	})
}

func cleanSchema(t testing.TB, s sealedSample) avro.Schema {
	cat, _ := domains.Catalog()
	for _, d := range domains.All() {
		if d.Name == s.name {
			sub, _ := cat.Subject(d.Subject())
			return sub.Latest().Schema
		}
	}
	t.Fatal("no domain")
	return nil
}
