package fieldcrypt_test

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/interop"
	"github.com/passerelle-bus/passerelle/schemas"
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

// Apache Avro's Python implementation and pyca/cryptography, given only
// the documented formats, open every domain's sealed sample record and
// get back the clear record Go encoded, byte for byte; under another
// key, nothing opens.
func TestPythonOpensSealedRecords(t *testing.T) {
	py := interop.Python(t, "avro.io")
	interop.Python(t, "cryptography.hazmat.primitives.ciphers.aead")
	dir := t.TempDir()
	for _, s := range samples(t) {
		t.Run(s.name, func(t *testing.T) {
			sealedFile, clearFile := filepath.Join(dir, s.name+".sealed.avsc"), filepath.Join(dir, s.name+".avsc")
			os.WriteFile(sealedFile, []byte(s.plan.Sealed().String()), 0o644)
			os.WriteFile(clearFile, []byte(cleanSchema(t, s).String()), 0o644)
			wire := append(schemas.AppendHeader(nil, 1), s.sealed...)
			run := func(k fieldcrypt.DataKey) (string, error) {
				out, err := exec.Command(py, "testdata/open_record.py", hex.EncodeToString(k.Key[:]), s.name,
					sealedFile, clearFile, hex.EncodeToString(wire)).Output()
				return strings.TrimSpace(string(out)), err
			}
			got, err := run(dk(1))
			if err != nil {
				t.Fatalf("python: %v %s", err, interop.Stderr(err))
			}
			if got != hex.EncodeToString(s.clear) {
				t.Fatalf("python opened the record to\n%s\nGo's clear record is\n%x", got, s.clear)
			}
			if got, err := run(dk(2)); err == nil {
				t.Fatalf("python opened the record under another key, to %s", got)
			}
		})
	}
}
