package stats_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/civilstatus"
	"github.com/passerelle-bus/passerelle/internal/domains/finance"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

// revocable says every key may publish except those revoked.
type revocable map[string]bool

func (r revocable) SigningKey(kid string) (seal.Key, error) {
	if r[kid] {
		return seal.Key{}, errors.New("revoked")
	}
	return seal.Key{ID: kid, Member: "m"}, nil
}
func (revocable) MayPublish(string, string) bool { return true }

type linker struct {
	sealers map[string]*link.Sealer
	ix      *stats.Index
}

func newLinker(t *testing.T, keys seal.Keys) *linker {
	ctx := context.Background()
	kr := pseudo.NewFileKeyring(filepath.Join(t.TempDir(), "pseudo"))
	if err := kr.Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		t.Fatal(err)
	}
	opener, err := link.NewOpener(ctx, kr, domains.Names())
	if err != nil {
		t.Fatal(err)
	}
	l := &linker{sealers: map[string]*link.Sealer{}, ix: stats.NewIndex(opener, keys, nil, nil)}
	for _, d := range []string{"civilstatus", "tax", "finance"} {
		if l.sealers[d], err = link.NewSealer(ctx, kr, d); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// observe hears a record of domain about citizen n; header edits the
// sealed header (nil: none at all).
func (l *linker) observe(t *testing.T, d string, n int, recordID, kid string, value any, meta *schemas.Meta, header func(h []byte) []byte) {
	t.Helper()
	var id link.ID
	binary.BigEndian.PutUint64(id[8:], uint64(n))
	meta.Subject, meta.RecordID = fmt.Sprintf("%s-subject-%d", d, n), recordID
	h, err := l.sealers[d].Seal(id, meta.Subject, meta.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	var headers []bus.Header
	if header != nil {
		headers = []bus.Header{{Key: link.Header, Value: header(h)}}
	}
	l.ix.Observe(d, view.Observed{Meta: meta, Value: value, KeyID: kid, Headers: headers})
}

func housing(t *testing.T) *policy.AggregateRule {
	rs, err := policy.Load(policy.Default, ".")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rs.Aggregate("drees", "housing-policy-evaluation", day)
	if !ok {
		t.Fatal("no housing rule")
	}
	return r
}

// Only records whose linkage token opens for them are joined; the others
// are counted by reason; a later record of a subject replaces its row even
// when it cannot be linked; a revoked key's records are left out.
func TestOnlyLinkedCurrentRecordsCount(t *testing.T) {
	revoked := revocable{}
	l := newLinker(t, revoked)
	same := func(h []byte) []byte { return h }
	for n := range 40 {
		p := &civilstatus.Person{Sex: "F", BirthDate: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), Address: &civilstatus.Address{CommuneCode: "75056"}}
		l.observe(t, "civilstatus", n, "cs-1", "k-cs", p, &p.Meta, same)
		pay := &finance.Payment{Benefit: "HOUSING_AID", AmountCents: 20_000, Status: "PAID"}
		l.observe(t, "finance", n, "fin-1", "k-fin", pay, &pay.Meta, same)
		header, kid := same, "k-tax"
		switch {
		case n < 3:
			header = nil // published before the header existed
		case n < 5:
			header = func(h []byte) []byte { return append([]byte{}, h[:20]...) } // truncated
		case n < 8:
			header = func(h []byte) []byte { // another record's token
				other, _ := l.sealers["tax"].Seal(link.ID{1}, "someone-else", "rec")
				return other
			}
		case n < 10:
			kid = "k-revoked"
		}
		h := &tax.Household{CommuneCode: "75056", ReferenceIncomeCents: 100_000, Role: "DECLARANT"}
		l.observe(t, "tax", n, "tax-1", kid, h, &h.Meta, header)
	}
	// Citizen 40 has a negative income, validly signed: left out, counted.
	neg := &civilstatus.Person{Sex: "M", BirthDate: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), Address: &civilstatus.Address{CommuneCode: "75056"}}
	l.observe(t, "civilstatus", 40, "cs-1", "k-cs", neg, &neg.Meta, same)
	negPay := &finance.Payment{Benefit: "HOUSING_AID", AmountCents: 20_000, Status: "PAID"}
	l.observe(t, "finance", 40, "fin-1", "k-fin", negPay, &negPay.Meta, same)
	negTax := &tax.Household{CommuneCode: "75056", ReferenceIncomeCents: -5, Role: "DECLARANT"}
	l.observe(t, "tax", 40, "tax-1", "k-tax", negTax, &negTax.Meta, same)
	revoked["k-revoked"] = true
	// Citizen 39 moves to Lyon in a record whose header was tampered with:
	// the Paris row is gone, and the Lyon one is not linked.
	h := &tax.Household{CommuneCode: "69123", ReferenceIncomeCents: 100_000, Role: "DECLARANT"}
	l.observe(t, "tax", 39, "tax-2", "k-tax", h, &h.Meta, func(b []byte) []byte {
		c := append([]byte{}, b...)
		// Another base64url character: the header still parses, and the
		// ciphertext under it no longer opens.
		if c[30] == 'A' {
			c[30] = 'B'
		} else {
			c[30] = 'A'
		}
		return c
	})
	for reason, want := range map[string]float64{"missing": 3, "malformed": 2, "forged": 4} {
		if got := testutil.ToFloat64(l.ix.Unlinked("tax", reason)); got != want {
			t.Errorf("unlinked %s: %v, want %v", reason, got, want)
		}
	}
	r := housing(t)
	tab, err := l.ix.Freeze(day).Table(r)
	if err != nil {
		t.Fatal(err)
	}
	// 41 citizens, less 3 + 2 + 3 unlinked, 2 revoked and the one who moved.
	if tab.Population != 30 || tab.Excluded != 1 {
		t.Fatalf("population %d, %d excluded, want 30 and the one with a negative income", tab.Population, tab.Excluded)
	}
}

// A noisy answer spends what it says, its figures stay near the truth,
// and the same snapshot gives a different draw each time.
func TestNoisyAnswers(t *testing.T) {
	f := newFixture(t, population(4000, 11))
	r := f.rule(t, "housing-policy-evaluation")
	p, err := stats.Compile(r, stats.Query{GroupBy: []string{"civilstatus.sex"},
		Measures: []stats.MeasureQuery{{Op: "count"}, {Op: "mean", Field: "finance.amount"}, {Op: "sum", Field: "tax.tax_due"}},
		Noise:    &stats.NoiseQuery{Mechanism: stats.MechanismLaplace, Epsilon: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	tab, err := f.ix.Freeze(day).Table(r)
	if err != nil {
		t.Fatal(err)
	}
	exact := stats.Exact(p, tab, day)
	a, err := stats.Noisy(p, tab, day, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := stats.Noisy(p, tab, day, rand.Reader)
	n := a.Disclosure.Noise
	if n == nil || n.Epsilon != 0.9 || n.Scales["count"] != 1/0.3 || n.Bounds["finance.amount"] != 200000 {
		t.Fatalf("noise %+v", n)
	}
	differ := false
	for i, c := range a.Cells {
		if c.Suppressed != "" || c.Count == nil {
			t.Fatalf("a noisy cell is suppressed: %+v", c)
		}
		if e := exact.Cells[i].Count; e != nil && (*c.Count < *e-60 || *c.Count > *e+60) {
			t.Fatalf("%v: noisy count %v, true %v: more than 18 scales away", c.Group, *c.Count, *e)
		}
		differ = differ || *b.Cells[i].Count != *c.Count
	}
	if !differ {
		t.Fatal("two noisy answers drew the same noise in every cell")
	}
}

// Deciles split the domain's records into ten groups of equal size, each
// income in the group its rank says.
func TestIncomeDeciles(t *testing.T) {
	f := newFixture(t, population(5000, 17)[1:]) // without the one rich citizen
	r := smallRule(t, []string{"tax.income_decile"}, []string{"tax.reference_income"}, "")
	tab, err := f.ix.Freeze(day).Table(r)
	if err != nil {
		t.Fatal(err)
	}
	p, err := stats.Compile(r, stats.Query{Purpose: r.Purpose, GroupBy: []string{"tax.income_decile"},
		Measures: []stats.MeasureQuery{{Op: "count"}, {Op: "mean", Field: "tax.reference_income"}}})
	if err != nil {
		t.Fatal(err)
	}
	a := stats.Exact(p, tab, day)
	total := float64(tab.Population)
	last := 0.0
	for i, c := range a.Cells {
		if c.Group[0] != fmt.Sprintf("D%d", i+1) || c.Count == nil {
			t.Fatalf("cell %d: %+v", i, c)
		}
		if share := *c.Count / total; share < 0.095 || share > 0.105 {
			t.Fatalf("%s holds %.3f of the households", c.Group[0], share)
		}
		if *c.Values[1] <= last {
			t.Fatalf("%s: mean income %v not above the decile before's %v", c.Group[0], *c.Values[1], last)
		}
		last = *c.Values[1]
	}
}

// An index told the rules keeps only what they ask for: a domain no rule
// joins is not even opened, and a rule it was not told of cannot build.
func TestKeepOnlyWhatRulesAsk(t *testing.T) {
	l := newLinker(t, nil)
	l.ix.Keep([]*policy.AggregateRule{smallRule(t, []string{"civilstatus.sex"}, nil, "")})
	p := &civilstatus.Person{Sex: "F", BirthDate: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	l.observe(t, "civilstatus", 1, "cs-1", "k", p, &p.Meta, nil)
	h := &tax.Household{CommuneCode: "75056", ReferenceIncomeCents: 1, Role: "DECLARANT"}
	l.observe(t, "tax", 1, "tax-1", "k", h, &h.Meta, nil)
	if got := testutil.ToFloat64(l.ix.Unlinked("civilstatus", "missing")); got != 1 {
		t.Fatalf("the kept domain's unlinked record counted %v times", got)
	}
	if got := testutil.ToFloat64(l.ix.Unlinked("tax", "missing")); got != 0 {
		t.Fatalf("a domain no rule joins was opened: %v", got)
	}
	if _, err := l.ix.Freeze(day).Table(housing(t)); err == nil || !strings.Contains(err.Error(), "keeps no") {
		t.Fatalf("a rule the index was not told of: %v", err)
	}
}
