package trust_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

var specs = []trust.MemberSpec{
	{ID: "dgfip", Name: "Direction générale des Finances publiques", Roles: []string{"publisher:tax", "reader"}},
	{ID: "cnam", Name: "Caisse nationale de l'Assurance maladie", Roles: []string{"publisher:health", "reader"}},
	{ID: "cnil", Name: "Commission nationale de l'informatique et des libertés", Roles: []string{"auditor"}},
}

func TestRegistryRoundTrip(t *testing.T) {
	w := trusttest.New(t, specs)
	r := w.Store(t).Current()
	if len(r.Members()) != 3 || r.Serial != 1 {
		t.Fatalf("%d members, serial %d", len(r.Members()), r.Serial)
	}
	dgfip := w.Signer(t, "dgfip")
	k, err := r.SigningKey(dgfip.KeyID())
	if err != nil || k.Member != "dgfip" || k.Alg != seal.EdDSA {
		t.Fatalf("key %+v, %v", k, err)
	}
	if !r.MayPublish("dgfip", "tax") || r.MayPublish("dgfip", "health") || r.MayPublish("cnil", "tax") {
		t.Fatal("publisher roles wrong")
	}
	m, _ := r.Member("dgfip")
	if m.JWKS().Len() != 1 {
		t.Fatalf("JWKS has %d keys", m.JWKS().Len())
	}
}

func TestRegistryRefusesTamperingAndRollback(t *testing.T) {
	w := trusttest.New(t, specs)
	store := w.Store(t)
	doc, _ := os.ReadFile(w.Doc)

	// A flipped role in the document: the governance signature fails.
	os.WriteFile(w.Doc, []byte(strings.Replace(string(doc), "auditor", "reader", 1)), 0o644)
	if _, err := store.Reload(); !errors.Is(err, trust.ErrUnsignedRegistry) {
		t.Fatalf("tampered document: got %v", err)
	}
	if store.Current().Serial != 1 {
		t.Fatal("the tampered registry replaced the good one")
	}

	// Signed by a key that is not the governance key.
	other := trusttest.New(t, specs)
	if _, err := trust.Open(other.Doc, other.Sig, w.Anchor, nil); !errors.Is(err, trust.ErrUnsignedRegistry) {
		t.Fatalf("foreign signature: got %v", err)
	}

	// Serial 2, then an attempt to bring serial 1 back.
	os.WriteFile(w.Doc, doc, 0o644)
	oldSig, _ := os.ReadFile(w.Sig)
	w.Publish(t, specs)
	if ok, err := store.Reload(); !ok || err != nil {
		t.Fatalf("serial 2: %v %v", ok, err)
	}
	os.WriteFile(w.Doc, doc, 0o644)
	os.WriteFile(w.Sig, oldSig, 0o644)
	if _, err := store.Reload(); !errors.Is(err, trust.ErrRollback) {
		t.Fatalf("rollback: got %v", err)
	}
}

// Revoking a key or a member takes effect on the next reload, without a
// restart, and the revoked key leaves the JWKS.
func TestRevocationWithoutRestart(t *testing.T) {
	w := trusttest.New(t, specs)
	store := w.Store(t)
	v := seal.NewVerifier(store)
	old := w.Signer(t, "dgfip")
	vals := [][]byte{[]byte("record")}
	sigOld, _ := seal.NewSealer(old).SignEach(context.Background(), vals)

	// Rotation: the new key signs, the old one still verifies.
	if _, err := w.Keys.Generate("dgfip", seal.EdDSA); err != nil {
		t.Fatal(err)
	}
	w.Publish(t, specs)
	store.Reload()
	if _, err := v.Signature(vals[0], sigOld[0], nil); err != nil {
		t.Fatalf("old key after rotation: %v", err)
	}

	revoked := append([]trust.MemberSpec(nil), specs...)
	revoked[0].RevokedKeys = []string{old.KeyID()}
	w.Publish(t, revoked)
	store.Reload()
	if _, err := v.Signature(vals[0], sigOld[0], nil); !errors.Is(err, seal.ErrRevokedKey) {
		t.Fatalf("revoked key: got %v", err)
	}
	m, _ := store.Current().Member("dgfip")
	if _, ok := m.JWKS().LookupKeyID(old.KeyID()); ok {
		t.Fatal("a revoked key is still in the JWKS")
	}

	revoked[0].Status = trust.StatusRevoked
	w.Publish(t, revoked)
	store.Reload()
	sigNew, _ := seal.NewSealer(w.Signer(t, "dgfip")).SignEach(context.Background(), vals)
	if _, err := v.Signature(vals[0], sigNew[0], nil); !errors.Is(err, seal.ErrRevokedKey) {
		t.Fatalf("key of a revoked member: got %v", err)
	}
	if store.MayPublish("dgfip", "tax") {
		t.Fatal("a revoked member may still publish")
	}
}

func TestRegistryValidationNamesTheField(t *testing.T) {
	w := trusttest.New(t, nil)
	noKeys := func(string) (jwk.Set, error) { return jwk.NewSet(), nil }
	for _, tc := range []struct {
		name string
		spec trust.MemberSpec
		want string
	}{
		{"bad role", trust.MemberSpec{ID: "x", Name: "X", Roles: []string{"admin"}}, `members[0].roles[0]: unknown role "admin"`},
		{"bad id", trust.MemberSpec{ID: "X Y", Name: "X"}, `members[0].id: "X Y"`},
		{"no name", trust.MemberSpec{ID: "x"}, "members[0].name: required"},
		{"bad status", trust.MemberSpec{ID: "x", Name: "X", Status: "sleeping"}, "members[0].status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := trust.Build(9, time.Now(), []trust.MemberSpec{tc.spec}, noKeys)
			if err != nil {
				t.Fatal(err)
			}
			_, err = trust.Parse(doc, w.SignRaw(t, doc), w.Anchor)
			if !errors.Is(err, trust.ErrBadRegistry) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBadRegistry naming %q", err, tc.want)
			}
		})
	}
	// A private key, or a kid that is not the thumbprint, never enters.
	priv, _ := seal.GenerateKey(seal.EdDSA)
	privSet := func(string) (jwk.Set, error) { s := jwk.NewSet(); s.AddKey(priv); return s, nil }
	doc, _ := trust.Build(9, time.Now(), []trust.MemberSpec{{ID: "x", Name: "X"}}, privSet)
	if _, err := trust.Parse(doc, w.SignRaw(t, doc), w.Anchor); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Fatalf("private key published: %v", err)
	}
	pub, _ := priv.PublicKey()
	pub.Set(jwk.KeyIDKey, "someone-else")
	pubSet := func(string) (jwk.Set, error) { s := jwk.NewSet(); s.AddKey(pub); return s, nil }
	doc, _ = trust.Build(9, time.Now(), []trust.MemberSpec{{ID: "x", Name: "X"}}, pubSet)
	if _, err := trust.Parse(doc, w.SignRaw(t, doc), w.Anchor); err == nil || !strings.Contains(err.Error(), "thumbprint") {
		t.Fatalf("kid not the thumbprint: %v", err)
	}
}
