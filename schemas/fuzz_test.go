package schemas_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/passerelle-bus/passerelle/schemas"
)

// FuzzDecode: arbitrary bytes never panic, and every failure is one of the
// named errors.
func FuzzDecode(f *testing.F) {
	cat := catalog(f)
	codec := schemas.NewCodec(cat)
	for _, s := range cat.Subjects() {
		f.Add(encoded(f, codec, s.Name))
	}
	f.Add([]byte{0, 0, 0, 0, 3, 0xfe, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0, 0, 0, 0, 12}) // a sealed schema's id
	named := []error{schemas.ErrTruncated, schemas.ErrBadMagic, schemas.ErrUnknownSchemaID,
		schemas.ErrSubjectMismatch, schemas.ErrMalformed, schemas.ErrIncompatible, schemas.ErrSealed}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range cat.Subjects() {
			out := fresh(samples[s.Name])
			_, err := codec.Decode(data, s.Name, nil, out)
			if err == nil {
				continue
			}
			known := false
			for _, n := range named {
				known = known || errors.Is(err, n)
			}
			if !known {
				t.Fatalf("untyped error for %x: %v", data, err)
			}
		}
		// The meta alone, of any record, sealed or not.
		for _, s := range cat.Subjects() {
			meta, _, err := codec.DecodeMeta(data, s.Name)
			if err == nil && meta == nil {
				t.Fatal("no meta and no error")
			}
			if err != nil && !errors.Is(err, schemas.ErrTruncated) && !errors.Is(err, schemas.ErrBadMagic) &&
				!errors.Is(err, schemas.ErrUnknownSchemaID) && !errors.Is(err, schemas.ErrSubjectMismatch) && !errors.Is(err, schemas.ErrMalformed) {
				t.Fatalf("untyped error from DecodeMeta for %x: %v", data, err)
			}
		}
	})
}

// A 10-byte value claiming a 2 GB string must not reserve the 2 GB.
func TestDecodeAllocationIsBounded(t *testing.T) {
	codec := schemas.NewCodec(catalog(t))
	data := []byte{0, 0, 0, 0, 3, 0xfe, 0xff, 0xff, 0xff, 0x0f}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 100 {
		h := fresh(samples["passerelle.tax.household.v1-value"])
		if _, err := codec.Decode(data, "passerelle.tax.household.v1-value", nil, h); !errors.Is(err, schemas.ErrMalformed) {
			t.Fatalf("got %v, want ErrMalformed", err)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 10<<20 {
		t.Fatalf("100 decodes of a 10-byte value allocated %d bytes", grew)
	}
}
