package schemas_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/passerelle-bus/passerelle/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files")

func catalog(t testing.TB) *schemas.Catalog {
	t.Helper()
	c, err := schemas.Load(schemas.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func goldenPath(v *schemas.Version) string {
	return filepath.Join("testdata", "golden", fmt.Sprintf("%s.v%d.bin", v.Subject, v.Version))
}

// fresh returns a new zero value of the sample's type.
func fresh(sample any) any { return reflect.New(reflect.TypeOf(sample).Elem()).Interface() }

func TestGoldenEncodings(t *testing.T) {
	cat := catalog(t)
	codec := schemas.NewCodec(cat)
	for _, s := range cat.Subjects() {
		sample, ok := samples[s.Name]
		if !ok {
			t.Fatalf("no sample record for %s", s.Name)
		}
		for _, v := range s.Versions {
			t.Run(fmt.Sprintf("%s/v%d", s.Name, v.Version), func(t *testing.T) {
				got, err := codec.Append(nil, v, sample)
				if err != nil {
					t.Fatal(err)
				}
				if *update {
					if err := os.WriteFile(goldenPath(v), got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(goldenPath(v))
				if err != nil {
					t.Fatalf("%v (run go test ./schemas -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("encoding changed:\n got %x\nwant %x", got, want)
				}
				// Decode with the writer's own schema, then re-encode: the
				// bytes must survive the round trip unchanged.
				out := fresh(sample)
				wv, err := codec.Decode(want, s.Name, nil, out)
				if err != nil {
					t.Fatal(err)
				}
				if wv != v {
					t.Fatalf("decoded as %s v%d, want v%d", wv.Subject, wv.Version, v.Version)
				}
				again, err := codec.Append(nil, v, out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, want) {
					t.Fatalf("round trip changed the bytes:\n got %x\nwant %x", again, want)
				}
			})
		}
	}
}

// A reader on either version of the tax household reads the other's data.
func TestResolutionAcrossVersions(t *testing.T) {
	cat := catalog(t)
	codec := schemas.NewCodec(cat)
	subj, _ := cat.Subject("passerelle.tax.household.v1-value")
	v1, v2 := subj.Versions[0], subj.Versions[1]
	sample := samples[subj.Name].(*schemas.Household)

	old, _ := os.ReadFile(goldenPath(v1))
	var h schemas.Household
	if _, err := codec.Decode(old, subj.Name, v2.Schema, &h); err != nil {
		t.Fatal(err)
	}
	if h.WithholdingRateBP != nil || h.HouseholdID != sample.HouseholdID || h.Shares.Cmp(sample.Shares) != 0 {
		t.Fatalf("v2 reader on v1 data: %+v", h)
	}

	newer, _ := os.ReadFile(goldenPath(v2))
	var h1 schemas.Household
	if _, err := codec.Decode(newer, subj.Name, v1.Schema, &h1); err != nil {
		t.Fatal(err)
	}
	if h1.ReferenceIncomeCents != sample.ReferenceIncomeCents || h1.WithholdingRateBP != nil {
		t.Fatalf("v1 reader on v2 data: %+v", h1)
	}
}

func TestDecodeErrors(t *testing.T) {
	cat := catalog(t)
	codec := schemas.NewCodec(cat)
	tax, _ := cat.Subject("passerelle.tax.household.v1-value")
	good, err := os.ReadFile(goldenPath(tax.Latest()))
	if err != nil {
		t.Fatal(err)
	}
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
			var h schemas.Household
			_, err := codec.Decode(tc.data, tc.subject, nil, &h)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEncodeRefusesValuesOutsideTheSchema(t *testing.T) {
	codec := schemas.NewCodec(catalog(t))
	p := *samples["passerelle.civilstatus.person.v1-value"].(*schemas.Person)
	p.Sex = "Z"
	if _, err := codec.Encode("passerelle.civilstatus.person.v1-value", &p); err == nil {
		t.Fatal("an unknown enum symbol was encoded")
	}
	if _, err := codec.Encode("passerelle.nope.v1-value", &p); !errors.Is(err, schemas.ErrUnknownSubject) {
		t.Fatalf("got %v, want ErrUnknownSubject", err)
	}
}
