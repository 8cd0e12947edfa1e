package pseudo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/transit/transittest"
)

var nirs = []string{"184077505612372", "284072A00412387", "184072B03300195"}

func fileKeyring(t testing.TB) *pseudo.FileKeyring {
	t.Helper()
	kr := pseudo.NewFileKeyring(filepath.Join(t.TempDir(), "pseudo"))
	if err := kr.Ensure(pseudo.KeyNames([]string{"tax", "health"})...); err != nil {
		t.Fatal(err)
	}
	return kr
}

// checkPseudonyms holds for every keyring.
func checkPseudonyms(t *testing.T, kr pseudo.Keyring) {
	ctx := context.Background()
	p := pseudo.New(kr)
	tax, err := p.Domain(ctx, "tax", nirs)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := p.Domain(ctx, "tax", nirs)
	health, _ := p.Domain(ctx, "health", nirs)
	audit, _ := p.Audit(ctx, nirs)
	seen := map[string]bool{}
	for i := range nirs {
		if tax[i] != again[i] {
			t.Errorf("pseudonym of citizen %d not deterministic", i)
		}
		if len(tax[i]) != 43 {
			t.Errorf("pseudonym %q: want 43 base64url characters (32 bytes)", tax[i])
		}
		for _, ps := range []string{tax[i], health[i], audit[i]} {
			if seen[ps] {
				t.Errorf("pseudonym %s repeats across citizens or domains", ps)
			}
			seen[ps] = true
		}
	}
	parts, err := p.Partitions(ctx, nirs, 12)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range parts {
		if n < 0 || n >= 12 {
			t.Errorf("citizen %d: partition %d out of range", i, n)
		}
	}
	_, err = p.Domain(ctx, "tax", []string{nirs[0], "184077505612373"})
	var ne *pseudo.NIRError
	if !errors.As(err, &ne) || ne.Index != 1 || !errors.Is(err, pseudo.ErrNIRKey) {
		t.Errorf("bad NIR in a batch: got %v, want NIRError at index 1 wrapping ErrNIRKey", err)
	}
}

func TestFileKeyring(t *testing.T) {
	checkPseudonyms(t, fileKeyring(t))
}

func TestFileKeyringRefusesLooseKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pseudo")
	kr := pseudo.NewFileKeyring(dir)
	if err := kr.Ensure("audit"); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, "audit.key"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	os.Chmod(filepath.Join(dir, "audit.key"), 0o644)
	if _, err := pseudo.New(pseudo.NewFileKeyring(dir)).Audit(context.Background(), nirs); err == nil {
		t.Fatal("a world-readable key was used")
	}
}

func BenchmarkPseudonymsLocal(b *testing.B) { benchPseudonyms(b, fileKeyring(b)) }

func benchPseudonyms(b *testing.B, kr pseudo.Keyring) {
	p := pseudo.New(kr)
	batch := make([]string, 1000)
	for i := range batch {
		batch[i] = nirs[i%len(nirs)]
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch) {
		if _, err := p.Domain(ctx, "tax", batch[:min(len(batch), b.N-i)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pseudonyms/s")
}

func vaultKeyring(t testing.TB) *pseudo.VaultKeyring {
	t.Helper()
	kr := pseudo.NewVaultKeyring(transittest.Client(t), transittest.KeyName("pseudo")+"-")
	if err := kr.Ensure(context.Background(), pseudo.KeyNames([]string{"tax", "health"})...); err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestVaultKeyring(t *testing.T) {
	checkPseudonyms(t, vaultKeyring(t))
}

func BenchmarkPseudonymsVault(b *testing.B) { benchPseudonyms(b, vaultKeyring(b)) }
