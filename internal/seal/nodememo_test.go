package seal_test

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

// Once its neighbours have been verified, and the memo holds every inner
// node of their paths, a record whose path has any one hash changed is
// still refused: the memo saves hashing, never a comparison.
func TestMemoizedPathsStillCheckEveryHash(t *testing.T) {
	reg := newRegistry()
	z, _ := reg.add(t, "dgfip", seal.EdDSA)
	vs := values(37) // not a power of two: carried nodes too
	hdrs, err := z.SignBatch(context.Background(), vs)
	if err != nil {
		t.Fatal(err)
	}
	v := seal.NewVerifier(reg)
	for i := range vs {
		if _, err := v.Signature(vs[i], nil, hdrs[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	hash := regexp.MustCompile(`"[A-Za-z0-9_-]{43}"`)
	for i := range vs {
		locs := hash.FindAllIndex(hdrs[i], -1)
		if len(locs) == 0 {
			t.Fatalf("record %d: no path", i)
		}
		for level, loc := range locs {
			forged := []byte(string(hdrs[i]))
			h, _ := base64.RawURLEncoding.DecodeString(string(forged[loc[0]+1 : loc[1]-1]))
			h[len(h)/2] ^= 1
			copy(forged[loc[0]+1:], base64.RawURLEncoding.EncodeToString(h))
			if _, err := v.Signature(vs[i], nil, forged); err == nil {
				t.Fatalf("record %d verified with level %d of its path changed", i, level)
			}
			// And another record's value under this record's header.
			if _, err := v.Signature(vs[(i+1)%len(vs)], nil, hdrs[i]); !errors.Is(err, seal.ErrBadSignature) && !errors.Is(err, seal.ErrBadInclusion) {
				t.Fatalf("record %d's header over another value: %v", i, err)
			}
		}
	}
}
