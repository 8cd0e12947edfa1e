package transit_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/transit"
	"github.com/passerelle-bus/passerelle/internal/transit/transittest"
)

func TestTransitAgainstVault(t *testing.T) {
	c := transittest.Client(t)
	ctx := context.Background()
	inputs := [][]byte{[]byte("one"), []byte("two"), []byte("three")}

	for _, kt := range []string{transit.Ed25519, transit.ECDSAP256} {
		t.Run(kt, func(t *testing.T) {
			name := transittest.KeyName("t-" + kt)
			for range 2 { // creating twice is a no-op
				if err := c.EnsureKey(ctx, name, kt); err != nil {
					t.Fatal(err)
				}
			}
			pubs, latest, err := c.PublicKeys(ctx, name)
			if err != nil || latest != 1 {
				t.Fatalf("latest %d, %v", latest, err)
			}
			sigs, err := c.Sign(ctx, name, latest, kt, inputs)
			if err != nil {
				t.Fatal(err)
			}
			for i, in := range inputs {
				ok := false
				switch pub := pubs[latest].(type) {
				case ed25519.PublicKey:
					ok = ed25519.Verify(pub, in, sigs[i])
				case *ecdsa.PublicKey:
					h := sha256.Sum256(in)
					r, s := new(big.Int).SetBytes(sigs[i][:32]), new(big.Int).SetBytes(sigs[i][32:])
					ok = len(sigs[i]) == 64 && ecdsa.Verify(pub, h[:], r, s)
				}
				if !ok {
					t.Fatalf("input %d: Vault's signature does not verify with its public key", i)
				}
			}
		})
	}

	t.Run("hmac", func(t *testing.T) {
		name := transittest.KeyName("t-hmac")
		if err := c.EnsureKey(ctx, name, transit.HMACKey); err != nil {
			t.Fatal(err)
		}
		a, err := c.HMAC(ctx, name, 1, inputs)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := c.HMAC(ctx, name, 1, inputs)
		for i := range a {
			if len(a[i]) != 32 || !bytes.Equal(a[i], b[i]) {
				t.Fatalf("input %d: HMAC %x then %x", i, a[i], b[i])
			}
		}
	})

	t.Run("missing key", func(t *testing.T) {
		if _, _, err := c.PublicKeys(ctx, transittest.KeyName("nope")); !errors.Is(err, transit.ErrVault) {
			t.Fatalf("got %v", err)
		}
	})
}
