package fieldcrypt_test

import (
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/interop"
)

// pyca/cryptography, given only the format in the package comment, opens
// the golden envelope, and refuses it for another record.
func TestPythonCryptographyOpensTheEnvelope(t *testing.T) {
	py := interop.Python(t, "cryptography.hazmat.primitives.ciphers.aead")
	golden, err := os.ReadFile("testdata/envelope.v1.hex")
	if err != nil {
		t.Fatal(err)
	}
	k := key(7)
	run := func(recordID string) (string, error) {
		out, err := exec.Command(py, "testdata/open_envelope.py", hex.EncodeToString(k.Key[:]),
			rec.Domain, rec.Subject, recordID, rec.Field, strings.TrimSpace(string(golden))).Output()
		return strings.TrimSpace(string(out)), err
	}
	if got, err := run(rec.RecordID); err != nil || got != "1946-03-14" {
		t.Fatalf("python opened the envelope to %q: %v %s", got, err, interop.Stderr(err))
	}
	if got, err := run("r-2"); err == nil {
		t.Fatalf("python opened the envelope for another record, to %q", got)
	}
}
