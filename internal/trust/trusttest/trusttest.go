// Package trusttest builds a signed member registry on disk for tests.
package trusttest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/keyfile"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// World is a governance key, members' key files and a published registry.
type World struct {
	// Dir is laid out as a data directory (internal/datadir), so the
	// passerelle commands can be pointed at it with --data.
	Dir        string
	Keys       keyfile.Dir
	Doc, Sig   string
	Anchor     jwk.Key
	governance *seal.KeySigner
	serial     int64
}

// Governance is the owner name of the governance key.
const Governance = "governance"

// New creates keys for every member and publishes them.
func New(t testing.TB, specs []trust.MemberSpec) *World {
	t.Helper()
	dir := t.TempDir()
	d := datadir.Dir(dir)
	w := &World{Dir: dir, Keys: d.Keys(), Doc: d.MembersDoc(), Sig: d.MembersSig()}
	if err := os.MkdirAll(filepath.Dir(w.Doc), 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := w.Keys.Generate(Governance, seal.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if w.governance, err = seal.NewKeySigner(g); err != nil {
		t.Fatal(err)
	}
	if w.Anchor, err = g.PublicKey(); err != nil {
		t.Fatal(err)
	}
	anchor, err := json.Marshal(w.Anchor)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.GovernancePublic(), anchor, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if _, err := w.Keys.Generate(s.ID, seal.EdDSA); err != nil {
			t.Fatal(err)
		}
	}
	w.Publish(t, specs)
	return w
}

// Publish writes and signs a new serial of the registry.
func (w *World) Publish(t testing.TB, specs []trust.MemberSpec) {
	t.Helper()
	w.serial++
	doc, err := trust.Build(w.serial, time.Now(), specs, w.Keys.PublicSet)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := trust.SignDocument(context.Background(), doc, w.governance)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.Doc, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.Sig, sig, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Store opens the published registry.
func (w *World) Store(t testing.TB) *trust.Store {
	t.Helper()
	s, err := trust.Open(w.Doc, w.Sig, w.Anchor, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Signer returns a member's current signer.
func (w *World) Signer(t testing.TB, member string) *seal.KeySigner {
	t.Helper()
	s, err := w.Keys.Signer(member)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SignRaw signs any document with the governance key.
func (w *World) SignRaw(t testing.TB, doc []byte) []byte {
	t.Helper()
	sig, err := trust.SignDocument(context.Background(), doc, w.governance)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
