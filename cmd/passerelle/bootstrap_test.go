package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// A demo data directory made before a domain was added gets that domain's
// publisher at the next start, key and signed registry included; the
// members it had keep their keys, and a complete directory is left alone.
func TestBootstrapAddsTheMembersOfNewDomains(t *testing.T) {
	ctx := context.Background()
	d := datadir.Dir(t.TempDir())
	if err := bootstrap(ctx, d); err != nil {
		t.Fatal(err)
	}
	registry := func() *trust.Registry {
		anchor, err := trust.LoadAnchor(d.GovernancePublic())
		if err != nil {
			t.Fatal(err)
		}
		s, err := trust.Open(d.MembersDoc(), d.MembersSig(), anchor, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.Current()
	}
	first := registry()
	for _, p := range domains.Publishers() {
		m, err := first.Member(p.ID)
		if err != nil || !m.Has(trust.PublisherRole(p.Domains[0])) {
			t.Fatalf("publisher %s: %v %v", p.ID, m, err)
		}
	}

	// As an older version left it: one publisher fewer.
	gone := domains.Publishers()[0].ID
	var specs []trust.MemberSpec
	raw, _ := os.ReadFile(d.MemberSpecs())
	yaml.Unmarshal(raw, &specs)
	var kept []trust.MemberSpec
	for _, m := range specs {
		if m.ID != gone {
			kept = append(kept, m)
		}
	}
	raw, _ = yaml.Marshal(kept)
	os.WriteFile(d.MemberSpecs(), raw, 0o644)
	os.RemoveAll(string(d.Keys()) + "/" + gone)
	if _, err := publishRegistry(ctx, d, d.MemberSpecs(), first.IssuedAt.Add(time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := registry().Member(gone); err == nil {
		t.Fatalf("%s still in the older registry", gone)
	}
	other, _ := d.Keys().Current("cnil")

	if err := bootstrap(ctx, d); err != nil {
		t.Fatal(err)
	}
	now := registry()
	if m, err := now.Member(gone); err != nil || m.JWKS().Len() == 0 {
		t.Fatalf("%s after the restart: %v %v", gone, m, err)
	}
	kid := func(k interface{ KeyID() (string, bool) }) string { id, _ := k.KeyID(); return id }
	if again, _ := d.Keys().Current("cnil"); kid(again) != kid(other) {
		t.Fatal("a member's key changed at the restart")
	}
	serial := now.Serial
	if err := bootstrap(ctx, d); err != nil {
		t.Fatal(err)
	}
	if registry().Serial != serial {
		t.Fatal("a complete directory was republished")
	}
	if strings.Count(string(mustRead(t, d.MemberSpecs())), "id: "+gone+"\n") != 1 {
		t.Fatal("the member was added twice")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
