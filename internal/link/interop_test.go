package link_test

import (
	"encoding/hex"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/interop"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

func python(t *testing.T, py string, args ...string) string {
	t.Helper()
	out, err := exec.Command(py, append([]string{"testdata/link_interop.py"}, args...)...).Output()
	if err != nil {
		t.Fatalf("python %s: %v\n%s", args[0], err, interop.Stderr(err))
	}
	return strings.TrimSpace(string(out))
}

// pyca/cryptography, given the key files and the format in docs/DESIGN.md,
// computes our link ids, opens our headers, and seals headers we open.
func TestPythonCryptographyInterop(t *testing.T) {
	py := interop.Python(t, "cryptography.hazmat.primitives.ciphers.aead")
	kr, dir := fileKeyring(t)
	p := open(t, kr)
	linkKey := filepath.Join(dir, pseudo.KeyLink+".key")
	sealKey := filepath.Join(dir, pseudo.LinkSealKey("tax")+".key")
	for i, nir := range nirs {
		if got := python(t, py, "id", linkKey, nir); got != hex.EncodeToString(p.ids[i][:]) {
			t.Errorf("citizen %d: python's link id %s, ours %x", i, got, p.ids[i])
		}
	}
	h := seal(t, p.sealer, p.ids[1], subject, recordID)
	if got := python(t, py, "open", sealKey, "tax", subject, recordID, string(h)); got != hex.EncodeToString(p.ids[1][:]) {
		t.Errorf("python opened our header to %s, want %x", got, p.ids[1])
	}
	// Python checks the associated data too.
	if err := exec.Command(py, "testdata/link_interop.py", "open", sealKey, "tax", subject, "other", string(h)).Run(); err == nil {
		t.Error("python opened our header for another record id")
	}
	ph := python(t, py, "seal", sealKey, "tax", subject, recordID, hex.EncodeToString(p.ids[2][:]))
	if got, err := p.opener.Open("tax", subject, recordID, []byte(ph)); err != nil || got != p.ids[2] {
		t.Errorf("we opened python's header %q to %x, %v; want %x", ph, got, err, p.ids[2])
	}
	if _, err := p.opener.Open("health", subject, recordID, []byte(ph)); !errors.Is(err, link.ErrForged) {
		t.Errorf("python's tax header opened as health: %v", err)
	}
}
