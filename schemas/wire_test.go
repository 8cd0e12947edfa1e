package schemas_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domains/civilstatus"
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
