package seal_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

// registry is a minimal seal.Keys for tests.
type registry struct {
	keys      map[string]seal.Key
	revoked   map[string]bool
	publishes map[string]string // member → domain
}

func (r *registry) SigningKey(kid string) (seal.Key, error) {
	k, ok := r.keys[kid]
	if !ok {
		return seal.Key{}, seal.ErrUnknownKey
	}
	if r.revoked[kid] {
		return seal.Key{}, seal.ErrRevokedKey
	}
	return k, nil
}

func (r *registry) MayPublish(member, domain string) bool { return r.publishes[member] == domain }

func (r *registry) add(t testing.TB, member, alg string) (*seal.Sealer, jwk.Key) {
	t.Helper()
	priv, err := seal.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := seal.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := priv.PublicKey()
	var raw any
	if err := jwk.Export(pub, &raw); err != nil {
		t.Fatal(err)
	}
	r.keys[signer.KeyID()] = seal.Key{ID: signer.KeyID(), Member: member, Alg: alg, Public: raw}
	return seal.NewSealer(signer), pub
}

func newRegistry() *registry {
	return &registry{keys: map[string]seal.Key{}, revoked: map[string]bool{}, publishes: map[string]string{"dgfip": "tax", "cnam": "health"}}
}

func values(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, 300)
		rand.Read(out[i])
		out[i][0] = 0 // Confluent magic, for realism
	}
	return out
}

type mode struct {
	name string
	sign func(z *seal.Sealer, vs [][]byte) ([][]byte, error)
	rec  func(domain string, key, value, hdr []byte, source string) seal.Record
}

var modes = []mode{
	{"per-record", func(z *seal.Sealer, vs [][]byte) ([][]byte, error) { return z.SignEach(context.Background(), vs) },
		func(d string, k, v, h []byte, s string) seal.Record {
			return seal.Record{Domain: d, Key: k, Value: v, Sig: h, Source: s, Subject: string(k)}
		}},
	{"batch", func(z *seal.Sealer, vs [][]byte) ([][]byte, error) { return z.SignBatch(context.Background(), vs) },
		func(d string, k, v, h []byte, s string) seal.Record {
			return seal.Record{Domain: d, Key: k, Value: v, Batch: h, Source: s, Subject: string(k)}
		}},
}

func TestSignAndVerify(t *testing.T) {
	for _, alg := range []string{seal.EdDSA, seal.ES256} {
		for _, m := range modes {
			for _, n := range []int{1, 2, 7, 64} {
				t.Run(fmt.Sprintf("%s/%s/%d", alg, m.name, n), func(t *testing.T) {
					reg := newRegistry()
					z, _ := reg.add(t, "dgfip", alg)
					v := seal.NewVerifier(reg)
					vs := values(n)
					hdrs, err := m.sign(z, vs)
					if err != nil {
						t.Fatal(err)
					}
					for i := range vs {
						k, err := v.Verify(m.rec("tax", fmt.Appendf(nil, "subject-%d", i), vs[i], hdrs[i], "dgfip"))
						if err != nil {
							t.Fatalf("record %d: %v", i, err)
						}
						if k.Member != "dgfip" || k.ID != z.KeyID() {
							t.Fatalf("record %d verified as %+v", i, k)
						}
					}
				})
			}
		}
	}
}

// jwx's high-level API, not our fast path, accepts our per-record JWS: it
// is a standard detached-payload compact JWS.
func TestPerRecordSignatureIsStandardJWS(t *testing.T) {
	for _, alg := range []string{seal.EdDSA, seal.ES256} {
		reg := newRegistry()
		z, pub := reg.add(t, "dgfip", alg)
		vs := values(1)
		hdrs, _ := z.SignEach(context.Background(), vs)
		sa, _ := jwa.LookupSignatureAlgorithm(alg)
		if _, err := jws.Verify(hdrs[0], jws.WithKey(sa, pub), jws.WithDetachedPayload(vs[0])); err != nil {
			t.Fatalf("%s: jws.Verify: %v", alg, err)
		}
		msg, _ := jws.Parse(hdrs[0])
		if kid, _ := msg.Signatures()[0].ProtectedHeaders().KeyID(); kid != z.KeyID() {
			t.Fatalf("kid %q, want the key thumbprint %q", kid, z.KeyID())
		}
	}
}

func TestTampering(t *testing.T) {
	reg := newRegistry()
	z, _ := reg.add(t, "dgfip", seal.EdDSA)
	other, _ := reg.add(t, "cnam", seal.EdDSA)
	v := seal.NewVerifier(reg)
	vs := values(5)
	key := []byte("subject-2")
	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i%len(c)] ^= 1; return c }

	for _, m := range modes {
		hdrs, _ := m.sign(z, vs)
		good := m.rec("tax", key, vs[2], hdrs[2], "dgfip")
		cnamHdrs, _ := m.sign(other, vs)
		for _, tc := range []struct {
			name string
			rec  func() seal.Record
			want error
		}{
			{"flipped value bit", func() seal.Record { r := good; r.Value = flip(r.Value, 77); return r }, seal.ErrBadSignature},
			{"flipped key bit", func() seal.Record { r := good; r.Key = flip(r.Key, 3); return r }, seal.ErrKeyMismatch},
			{"re-keyed to another citizen", func() seal.Record { r := good; r.Key, r.Subject = []byte("subject-9"), "subject-2"; return r }, seal.ErrKeyMismatch},
			{"another member's key claiming dgfip", func() seal.Record { r := m.rec("tax", key, vs[2], cnamHdrs[2], "dgfip"); return r }, seal.ErrWrongSource},
			{"member without publisher role", func() seal.Record { return m.rec("tax", key, vs[2], cnamHdrs[2], "cnam") }, seal.ErrNotPublisher},
			{"replayed onto another domain", func() seal.Record { r := good; r.Domain = "health"; return r }, seal.ErrNotPublisher},
			{"unsigned", func() seal.Record { r := good; r.Sig, r.Batch = nil, nil; return r }, seal.ErrUnsigned},
			{"header garbage", func() seal.Record { r := good; r.Sig, r.Batch = nil, []byte("{"); return r }, seal.ErrMalformed},
		} {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				if _, err := v.Verify(tc.rec()); !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
		t.Run(m.name+"/flipped header bit", func(t *testing.T) {
			h := hdrs[2]
			// Every single bit of the header, flipped, must fail.
			for i := range len(h) * 8 {
				c := append([]byte(nil), h...)
				c[i/8] ^= 1 << (i % 8)
				r := good
				if r.Sig != nil {
					r.Sig = c
				} else {
					r.Batch = c
				}
				if _, err := v.Verify(r); err == nil {
					t.Fatalf("bit %d of the header flipped and the record still verified: %q\noriginal %q", i, c, h)
				}
			}
		})
	}

	// Batch-only: a path element flipped, and a real path of another leaf.
	hdrs, _ := z.SignBatch(context.Background(), vs)
	moved := []byte(strings.Replace(string(hdrs[2]), `"index":2`, `"index":3`, 1))
	if _, err := v.Verify(seal.Record{Domain: "tax", Key: key, Value: vs[2], Batch: moved, Source: "dgfip", Subject: string(key)}); !errors.Is(err, seal.ErrBadSignature) {
		t.Fatalf("leaf moved to another index: got %v", err)
	}

	// Revocation takes effect at once, cached root or not.
	sigs, _ := z.SignEach(context.Background(), vs)
	reg.revoked[z.KeyID()] = true
	for _, r := range []seal.Record{
		{Domain: "tax", Key: key, Value: vs[2], Sig: sigs[2], Source: "dgfip", Subject: string(key)},
		{Domain: "tax", Key: key, Value: vs[2], Batch: hdrs[2], Source: "dgfip", Subject: string(key)},
	} {
		if _, err := v.Verify(r); !errors.Is(err, seal.ErrRevokedKey) {
			t.Fatalf("revoked key: got %v", err)
		}
	}
}

// Algorithms outside EdDSA and ES256 are refused before any key lookup,
// HMAC and none included.
func TestRefusedAlgorithms(t *testing.T) {
	v := seal.NewVerifier(newRegistry())
	for _, alg := range []string{"none", "HS256", "RS256", "ES384"} {
		hdr := b64(fmt.Sprintf(`{"alg":%q,"kid":"x"}`, alg))
		if _, err := v.Signature([]byte("v"), []byte(hdr+".."+b64("sig")), nil); !errors.Is(err, seal.ErrAlgorithm) {
			t.Errorf("%s: got %v, want ErrAlgorithm", alg, err)
		}
	}
	// A root signature presented as a record signature fails, and the reverse.
	reg := newRegistry()
	z, _ := reg.add(t, "dgfip", seal.EdDSA)
	v = seal.NewVerifier(reg)
	vs := values(1)
	batch, _ := z.SignBatch(context.Background(), vs)
	var h struct {
		RootSig string `json:"root_sig"`
	}
	json.Unmarshal(batch[0], &h)
	if _, err := v.Signature(vs[0], []byte(h.RootSig), nil); !errors.Is(err, seal.ErrBadSignature) {
		t.Fatalf("root signature accepted as a record signature: %v", err)
	}
}

func b64(s string) string {
	return strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(stdB64(s)), "=")
}
