package seal_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/transit"
	"github.com/passerelle-bus/passerelle/internal/transit/transittest"
)

// addVaultKeys publishes every version of a Transit key for member.
func (r *registry) addVaultKeys(t testing.TB, c *transit.Client, name, member string) {
	t.Helper()
	set, err := seal.VaultPublicSet(context.Background(), c, name)
	if err != nil {
		t.Fatal(err)
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		alg, _ := k.Algorithm()
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			t.Fatal(err)
		}
		r.keys[kid] = seal.Key{ID: kid, Member: member, Alg: alg.String(), Public: raw}
	}
}

func TestVaultSigner(t *testing.T) {
	c := transittest.Client(t)
	ctx := context.Background()
	for _, kt := range []string{transit.Ed25519, transit.ECDSAP256} {
		t.Run(kt, func(t *testing.T) {
			name := transittest.KeyName("seal-" + kt)
			if err := c.EnsureKey(ctx, name, kt); err != nil {
				t.Fatal(err)
			}
			signer, err := seal.NewVaultSigner(ctx, c, name)
			if err != nil {
				t.Fatal(err)
			}
			reg := newRegistry()
			reg.addVaultKeys(t, c, name, "dgfip")
			v := seal.NewVerifier(reg)
			vs := values(17)
			for _, m := range modes {
				hdrs, err := m.sign(seal.NewSealer(signer), vs)
				if err != nil {
					t.Fatal(err)
				}
				for i := range vs {
					if _, err := v.Verify(m.rec("tax", []byte("s"), vs[i], hdrs[i], "dgfip")); err != nil {
						t.Fatalf("%s record %d: %v", m.name, i, err)
					}
				}
			}

			// Rotation in Vault: new records use the new version, old
			// records verify while the old key is published.
			old, _ := seal.NewSealer(signer).SignEach(ctx, vs[:1])
			if err := c.Rotate(ctx, name); err != nil {
				t.Fatal(err)
			}
			rotated, err := seal.NewVaultSigner(ctx, c, name)
			if err != nil {
				t.Fatal(err)
			}
			if rotated.KeyID() == signer.KeyID() {
				t.Fatal("rotation kept the kid")
			}
			reg.addVaultKeys(t, c, name, "dgfip")
			fresh, _ := seal.NewSealer(rotated).SignEach(ctx, vs[:1])
			for i, h := range [][]byte{old[0], fresh[0]} {
				k, err := v.Signature(vs[0], h, nil)
				if err != nil {
					t.Fatalf("signature %d after rotation: %v", i, err)
				}
				if want := []string{signer.KeyID(), rotated.KeyID()}[i]; k.ID != want {
					t.Fatalf("signature %d verified with %s, want %s", i, k.ID, want)
				}
			}
		})
	}
}

func BenchmarkVaultSeal(b *testing.B) {
	c := transittest.Client(b)
	ctx := context.Background()
	name := transittest.KeyName("bench")
	if err := c.EnsureKey(ctx, name, transit.Ed25519); err != nil {
		b.Fatal(err)
	}
	signer, err := seal.NewVaultSigner(ctx, c, name)
	if err != nil {
		b.Fatal(err)
	}
	z := seal.NewSealer(signer)
	vs := values(benchBatch)
	for _, m := range modes {
		b.Run(fmt.Sprintf("EdDSA/%s/sign", m.name), func(b *testing.B) {
			for i := 0; i < b.N; i += benchBatch {
				if _, err := m.sign(z, vs[:min(benchBatch, b.N-i)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
