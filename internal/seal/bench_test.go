package seal_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

const benchBatch = 1000

// BenchmarkRawEd25519 is the yardstick: crypto/ed25519 alone, signing and
// verifying 300-byte values.
func BenchmarkRawEd25519(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	v := values(1)[0]
	sig := ed25519.Sign(priv, v)
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			ed25519.Sign(priv, v)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, v, sig) {
				b.Fatal("bad")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkSeal signs and verifies 300-byte records, 1000 per call, with
// key-file keys.
func BenchmarkSeal(b *testing.B) {
	for _, alg := range []string{seal.EdDSA, seal.ES256} {
		for _, m := range modes {
			reg := newRegistry()
			z, _ := reg.add(b, "dgfip", alg)
			vs := values(benchBatch)
			ctx := context.Background()
			b.Run(fmt.Sprintf("%s/%s/sign", alg, m.name), func(b *testing.B) {
				for i := 0; i < b.N; i += benchBatch {
					if _, err := m.sign(z, vs[:min(benchBatch, b.N-i)]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
			hdrs, _ := m.sign(z, vs)
			_ = ctx
			b.Run(fmt.Sprintf("%s/%s/verify", alg, m.name), func(b *testing.B) {
				v := seal.NewVerifier(reg)
				key := []byte("k")
				for i := 0; b.Loop(); i++ {
					j := i % benchBatch
					if _, err := v.Verify(m.rec("tax", key, vs[j], hdrs[j], "dgfip")); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
