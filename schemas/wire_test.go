package schemas_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/civilstatus"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/schemas"
)

func TestDecodeErrors(t *testing.T) {
	cat := catalog(t)
	codec := schemas.NewCodec(cat)
	tax, _ := cat.Subject("passerelle.tax.household.v1-value")
	good := encoded(t, codec, tax.Name)
	with := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name    string
		data    []byte
		subject string
		want    error
	}{
		{"empty", nil, tax.Name, schemas.ErrTruncated},
		{"header only partly", good[:3], tax.Name, schemas.ErrTruncated},
		{"bad magic", with(func(b []byte) []byte { b[0] = 1; return b }), tax.Name, schemas.ErrBadMagic},
		{"unknown id", with(func(b []byte) []byte { b[4] = 99; return b }), tax.Name, schemas.ErrUnknownSchemaID},
		{"other subject", good, "passerelle.health.coverage.v1-value", schemas.ErrSubjectMismatch},
		{"truncated body", good[:len(good)-3], tax.Name, schemas.ErrTruncated},
		{"trailing bytes", append(bytes.Clone(good), 0, 0), tax.Name, schemas.ErrMalformed},
		{"negative string length", with(func(b []byte) []byte { b[5] = 0x01; return b }), tax.Name, schemas.ErrMalformed},
		// 10 bytes claiming a 2 GB string: refused before any allocation.
		{"huge string", []byte{0, 0, 0, 0, 3, 0xfe, 0xff, 0xff, 0xff, 0x0f}, tax.Name, schemas.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := codec.Decode(tc.data, tc.subject, nil, fresh(samples[tax.Name]))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEncodeRefusesValuesOutsideTheSchema(t *testing.T) {
	codec := schemas.NewCodec(catalog(t))
	p := *samples["passerelle.civilstatus.person.v1-value"].(*civilstatus.Person)
	p.Sex = "Z"
	if _, err := codec.Encode("passerelle.civilstatus.person.v1-value", &p); err == nil {
		t.Fatal("an unknown enum symbol was encoded")
	}
	if _, err := codec.Encode("passerelle.nope.v1-value", &p); !errors.Is(err, schemas.ErrUnknownSubject) {
		t.Fatalf("got %v, want ErrUnknownSubject", err)
	}
}

// A sealed record is refused by Decode, whose writer schema would turn
// an envelope into a name by Avro's promotion of bytes to string, and its
// meta read by DecodeMeta.
func TestSealedRecordsDecodeOnlyTheirMeta(t *testing.T) {
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	codec := schemas.NewCodec(cat)
	d, _ := domains.ByName("civilstatus")
	sub, _ := cat.Subject(d.Subject())
	sealed := sub.Sealed[sub.Latest().Version]
	wire, err := codec.Encode(d.Subject(), d.Sample())
	if err != nil {
		t.Fatal(err)
	}
	// The clear body under the sealed id: decodable by the sealed schema
	// only where strings pass for bytes, which is the point.
	relabelled := append(schemas.AppendHeader(nil, sealed.ID), wire[schemas.HeaderSize:]...)
	if _, _, err := d.Decode(codec, relabelled); !errors.Is(err, schemas.ErrSealed) {
		t.Fatalf("decode of a sealed id: %v, want ErrSealed", err)
	}
	meta, v, err := codec.DecodeMeta(wire, d.Subject())
	if err != nil || v != sub.Latest() || meta.Subject == "" {
		t.Fatalf("meta of a clear record: %+v, %v", meta, err)
	}
	plan, err := fieldcrypt.NewPlan(d.Name, sub.Latest().Schema, d.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	var dk fieldcrypt.DataKey
	body, err := plan.Seal(nil, wire[schemas.HeaderSize:], dk, meta.Subject, meta.RecordID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sm, v, err := codec.DecodeMeta(append(schemas.AppendHeader(nil, sealed.ID), body...), d.Subject())
	if err != nil || v != sealed || *sm != *meta {
		t.Fatalf("meta of a sealed record: %+v, %v", sm, err)
	}
}
