package synth

import (
	"testing"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

// What a domain's own generator builds on: a stream that depends on the
// seed and the name only, strangers' NIRs no citizen has, and each adult's
// income as the tax rows assess it.
func TestExtensionPoints(t *testing.T) {
	p := Generate(2000, 9, Options{})
	a, b := p.Rand("pensions"), Generate(2000, 9, Options{DefectRate: 0.2}).Rand("pensions")
	if a.Uint64() != b.Uint64() {
		t.Fatal("a generator's stream changed with the defect rate")
	}
	if p.Rand("pensions").Uint64() == p.Rand("other").Uint64() {
		t.Fatal("two generators share a stream")
	}
	citizens := map[string]bool{}
	for _, c := range p.Citizens {
		citizens[c.NIR] = true
	}
	r := p.Rand("strangers")
	seen := map[string]bool{}
	for range 5000 {
		nir := p.Stranger(r)
		if err := pseudo.ValidateNIR(nir); err != nil {
			t.Fatalf("stranger %s: %v", nir, err)
		}
		if citizens[nir] || seen[nir] {
			t.Fatalf("stranger %s is a citizen or was drawn twice", nir)
		}
		seen[nir] = true
	}
	var adults, earning int
	for _, c := range p.Citizens {
		if c.Alive() && c.Age(p.AsOf) >= 18 {
			adults++
			if c.Income > 0 {
				earning++
			}
		} else if c.Income != 0 {
			t.Fatalf("%s, a child or dead, earns %d", c.NIR, c.Income)
		}
	}
	if earning < adults*9/10 {
		t.Fatalf("%d of %d adults have an income", earning, adults)
	}
}
