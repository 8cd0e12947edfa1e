package link_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/transit/transittest"
)

var (
	domains = []string{"tax", "health"}
	nirs    = []string{"184077505612372", "284072A00412387", "184072B03300195"}
)

const (
	subject  = "q1t4-gfKm0PH3n3Ua8Zq9eYb1mXb0VbvZ5oUq7bVz3E"
	recordID = "8d7f0c52b8a4a1f4e3c8a0d1f9e2b7c6"
)

func fileKeyring(t testing.TB) (*pseudo.FileKeyring, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pseudo")
	kr := pseudo.NewFileKeyring(dir)
	if err := kr.Ensure(pseudo.KeyNames(domains)...); err != nil {
		t.Fatal(err)
	}
	return kr, dir
}

type parts struct {
	sealer *link.Sealer
	opener *link.Opener
	ids    []link.ID
}

func open(t testing.TB, kr pseudo.Keyring) parts {
	t.Helper()
	ctx := context.Background()
	s, err := link.NewSealer(ctx, kr, "tax")
	if err != nil {
		t.Fatal(err)
	}
	o, err := link.NewOpener(ctx, kr, domains)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := link.IDs(ctx, kr, nirs)
	if err != nil {
		t.Fatal(err)
	}
	return parts{s, o, ids}
}

func seal(t testing.TB, s *link.Sealer, id link.ID, subject, recordID string) []byte {
	t.Helper()
	h, err := s.Seal(id, subject, recordID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestIDs(t *testing.T) {
	kr, _ := fileKeyring(t)
	checkIDs(t, kr)
}

// checkIDs holds for every keyring.
func checkIDs(t *testing.T, kr pseudo.Keyring) {
	ctx := context.Background()
	ids, err := link.IDs(ctx, kr, nirs)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := link.IDs(ctx, kr, nirs[1:2])
	if again[0] != ids[1] {
		t.Error("link id not deterministic")
	}
	seen := map[link.ID]bool{}
	for _, id := range ids {
		if seen[id] || id == (link.ID{}) {
			t.Errorf("link id %x repeats or is zero", id)
		}
		seen[id] = true
	}
	// Not a domain pseudonym's prefix: the link key is a key of its own.
	tax, _ := pseudo.New(kr).Domain(ctx, "tax", nirs)
	for i := range nirs {
		p := []byte(tax[i])
		if bytes.Contains(p, ids[i][:4]) {
			t.Errorf("citizen %d: link id shares bytes with the tax pseudonym", i)
		}
	}
	_, err = link.IDs(ctx, kr, []string{nirs[0], "184077505612373"})
	var ne *pseudo.NIRError
	if !errors.As(err, &ne) || ne.Index != 1 || !errors.Is(err, pseudo.ErrNIRKey) {
		t.Errorf("bad NIR: %v, want a NIRError for input 1", err)
	}
	p := open(t, kr)
	h := seal(t, p.sealer, ids[0], subject, recordID)
	if got, err := p.opener.Open("tax", subject, recordID, h); err != nil || got != ids[0] {
		t.Errorf("round trip: %x, %v", got, err)
	}
}

func TestOpen(t *testing.T) {
	kr, _ := fileKeyring(t)
	p := open(t, kr)
	id := p.ids[0]
	good := seal(t, p.sealer, id, subject, recordID)
	// A sealer of another keyring: same domain name, another key.
	other, _ := fileKeyring(t)
	foreign := seal(t, open(t, other).sealer, id, subject, recordID)
	healthSealer, err := link.NewSealer(context.Background(), kr, "health")
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		h := bytes.Clone(good)
		// Swap for another letter of the alphabet, so it stays base64url.
		if h[i] == 'A' {
			h[i] = 'B'
		} else {
			h[i] = 'A'
		}
		return h
	}
	v2 := flip(0) // the version byte is the first 6 bits
	cases := []struct {
		name                      string
		domain, subject, recordID string
		header                    []byte
		want                      error
	}{
		{"round trip", "tax", subject, recordID, good, nil},
		{"other domain", "health", subject, recordID, good, link.ErrForged},
		{"sealed for health, opened as tax", "tax", subject, recordID, seal(t, healthSealer, id, subject, recordID), link.ErrForged},
		{"other subject", "tax", subject[1:], recordID, good, link.ErrForged},
		{"other record id", "tax", subject, recordID[1:], good, link.ErrForged},
		{"subject and record id shifted", "tax", subject + "\x00" + recordID[:1], recordID[1:], good, link.ErrForged},
		{"other keyring", "tax", subject, recordID, foreign, link.ErrForged},
		{"nonce changed", "tax", subject, recordID, flip(5), link.ErrForged},
		{"ciphertext changed", "tax", subject, recordID, flip(30), link.ErrForged},
		{"tag changed", "tax", subject, recordID, flip(58), link.ErrForged},
		{"version changed", "tax", subject, recordID, v2, link.ErrMalformed},
		{"truncated", "tax", subject, recordID, good[:len(good)-1], link.ErrMalformed},
		{"one character more", "tax", subject, recordID, append(bytes.Clone(good), 'A'), link.ErrMalformed},
		{"padded", "tax", subject, recordID, append(bytes.Clone(good[:len(good)-2]), '=', '='), link.ErrMalformed},
		{"standard alphabet", "tax", subject, recordID, bytes.ReplaceAll(bytes.ReplaceAll(good, []byte("-"), []byte("+")), []byte("_"), []byte("/")), nil},
		{"garbage", "tax", subject, recordID, bytes.Repeat([]byte("*"), link.HeaderSize), link.ErrMalformed},
		{"newline inside", "tax", subject, recordID, append(append(bytes.Clone(good[:30]), '\n'), good[31:]...), link.ErrMalformed},
		{"binary", "tax", subject, recordID, make([]byte, link.HeaderSize), link.ErrMalformed},
		{"empty", "tax", subject, recordID, []byte{}, link.ErrMissing},
		{"absent", "tax", subject, recordID, nil, link.ErrMissing},
		{"domain not read", "finance", subject, recordID, good, link.ErrUnknownDomain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "standard alphabet" {
				if bytes.Equal(c.header, good) {
					t.Skip("this header has neither - nor _")
				}
				c.want = link.ErrMalformed
			}
			got, err := p.opener.Open(c.domain, c.subject, c.recordID, c.header)
			switch {
			case c.want == nil && (err != nil || got != id):
				t.Errorf("Open = %x, %v; want %x", got, err, id)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("Open = %x, %v; want %v", got, err, c.want)
			case c.want != nil && got != (link.ID{}):
				t.Errorf("Open failed but returned id %x", got)
			}
		})
	}
}

// Sealing is randomised: the same citizen's headers, in one domain or two,
// share nothing a reader could match.
func TestSealsAreUnlinkable(t *testing.T) {
	kr, _ := fileKeyring(t)
	p := open(t, kr)
	health, err := link.NewSealer(context.Background(), kr, "health")
	if err != nil {
		t.Fatal(err)
	}
	id := p.ids[0]
	headers := [][]byte{
		seal(t, p.sealer, id, subject, recordID),
		seal(t, p.sealer, id, subject, recordID),
		seal(t, health, id, subject, recordID),
	}
	for i := range headers {
		if len(headers[i]) != link.HeaderSize {
			t.Errorf("header %d: %d characters, want %d", i, len(headers[i]), link.HeaderSize)
		}
		for j := range i {
			// Beyond the version character, no 4 characters in a row match.
			for k := 1; k+4 <= link.HeaderSize; k++ {
				if bytes.Contains(headers[j][1:], headers[i][k:k+4]) {
					t.Errorf("headers %d and %d share %q", j, i, headers[i][k:k+4])
				}
			}
		}
	}
	for i, d := range []string{"tax", "tax", "health"} {
		if got, err := p.opener.Open(d, subject, recordID, headers[i]); err != nil || got != id {
			t.Errorf("header %d: %x, %v", i, got, err)
		}
	}
}

func TestSealRefusesNUL(t *testing.T) {
	kr, _ := fileKeyring(t)
	p := open(t, kr)
	for _, in := range [][2]string{{"a\x00b", recordID}, {subject, "r\x00"}} {
		if _, err := p.sealer.Seal(p.ids[0], in[0], in[1]); err == nil {
			t.Errorf("Seal(%q, %q) succeeded", in[0], in[1])
		}
	}
}

func TestMissingKeys(t *testing.T) {
	kr := pseudo.NewFileKeyring(t.TempDir())
	if _, err := link.NewSealer(context.Background(), kr, "tax"); err == nil {
		t.Error("NewSealer without a link-seal-tax key succeeded")
	}
	if _, err := link.NewOpener(context.Background(), kr, domains); err == nil {
		t.Error("NewOpener without keys succeeded")
	}
	if _, err := link.IDs(context.Background(), kr, nirs); err == nil {
		t.Error("IDs without a link key succeeded")
	}
}

func TestVaultKeyring(t *testing.T) {
	kr := pseudo.NewVaultKeyring(transittest.Client(t), transittest.KeyName("link")+"-")
	if err := kr.Ensure(context.Background(), pseudo.KeyNames(domains)...); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, kr)
}

// FuzzOpen: Open never panics, and opens nothing but the header sealed for
// this record, unchanged.
func FuzzOpen(f *testing.F) {
	kr, _ := fileKeyring(f)
	p := open(f, kr)
	good := seal(f, p.sealer, p.ids[0], subject, recordID)
	f.Add(good, subject, recordID)
	f.Add(good[:40], subject, recordID)
	f.Add(append(bytes.Clone(good), '\n'), subject, recordID)
	f.Add([]byte{}, "", "")
	f.Add(bytes.Repeat([]byte{0xff}, link.HeaderSize), subject, recordID)
	f.Add(good, subject+"\x00"+recordID[:2], recordID[2:])
	f.Fuzz(func(t *testing.T, header []byte, subj, rid string) {
		id, err := p.opener.Open("tax", subj, rid, header)
		if err == nil && (!bytes.Equal(header, good) || subj != subject || rid != recordID || id != p.ids[0]) {
			t.Fatalf("opened %q for (%q, %q) to %x", header, subj, rid, id)
		}
		if err != nil && id != (link.ID{}) {
			t.Fatalf("failed (%v) but returned %x", err, id)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	kr, _ := fileKeyring(b)
	p := open(b, kr)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.sealer.Seal(p.ids[0], subject, recordID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	kr, _ := fileKeyring(b)
	p := open(b, kr)
	h := seal(b, p.sealer, p.ids[0], subject, recordID)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.opener.Open("tax", subject, recordID, h); err != nil {
			b.Fatal(err)
		}
	}
}
