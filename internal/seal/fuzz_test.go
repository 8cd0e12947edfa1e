package seal_test

import (
	"context"
	"errors"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

// FuzzVerify: arbitrary signature headers never panic, never verify, and
// fail with one of the named errors.
func FuzzVerify(f *testing.F) {
	reg := newRegistry()
	z, _ := reg.add(f, "dgfip", seal.EdDSA)
	v := seal.NewVerifier(reg)
	vs := values(3)
	each, _ := z.SignEach(context.Background(), vs)
	batch, _ := z.SignBatch(context.Background(), vs)
	f.Add(each[1], false)
	f.Add(batch[1], true)
	named := []error{seal.ErrUnsigned, seal.ErrMalformed, seal.ErrAlgorithm, seal.ErrUnknownKey,
		seal.ErrRevokedKey, seal.ErrBadSignature, seal.ErrBadInclusion}
	f.Fuzz(func(t *testing.T, hdr []byte, isBatch bool) {
		var err error
		if isBatch {
			_, err = v.Signature(vs[0], nil, hdr)
		} else {
			_, err = v.Signature(vs[0], hdr, nil)
		}
		if err == nil {
			t.Fatalf("header %q verifies over a value it was not made for", hdr)
		}
		for _, n := range named {
			if errors.Is(err, n) {
				return
			}
		}
		t.Fatalf("untyped error: %v", err)
	})
}
