package domains_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
	"github.com/passerelle-bus/passerelle/internal/interop"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Apache Avro's Python implementation decodes every golden value, and its
// re-encoding is byte for byte ours.
func TestPythonAvroReadsOurEncodings(t *testing.T) {
	py := interop.Python(t, "avro.io")
	for _, d := range domains.All() {
		for _, v := range versions(t, d) {
			t.Run(filepath.Base(goldenPath(d, v)), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "py.bin")
				stdout, err := exec.Command(py, "testdata/avro_interop.py", "decode", schemaPath(d, v), goldenPath(d, v), out).Output()
				if err != nil {
					t.Fatalf("python-avro: %v\n%s", err, interop.Stderr(err))
				}
				var datum map[string]any
				if err := json.Unmarshal(stdout, &datum); err != nil {
					t.Fatalf("python printed %q: %v", stdout, err)
				}
				if m := datum["meta"].(map[string]any); m["record_id"] == "" || m["op"] != "UPSERT" || m["event_time"] != "2026-03-14T09:26:53.589000+00:00" {
					t.Errorf("python read meta as %v", m)
				}
				want, _ := os.ReadFile(goldenPath(d, v))
				got, _ := os.ReadFile(out)
				if !bytes.Equal(got, want) {
					t.Fatalf("python re-encoded differently:\n got %x\nwant %x", got, want)
				}
			})
		}
	}
}

// And we decode what Python wrote from scratch.
func TestWeReadPythonAvroEncodings(t *testing.T) {
	py := interop.Python(t, "avro.io")
	cat := catalog(t)
	d, _ := domains.ByName("tax")
	subj, _ := cat.Subject(d.Subject())
	v := subj.Latest()
	out := filepath.Join(t.TempDir(), "py.bin")
	if err := exec.Command(py, "testdata/avro_interop.py", "write-household", schemaPath(d, v), strconv.Itoa(v.ID), out).Run(); err != nil {
		t.Fatalf("python-avro: %v\n%s", err, interop.Stderr(err))
	}
	data, _ := os.ReadFile(out)
	var h tax.Household
	if _, err := schemas.NewCodec(cat).Decode(data, subj.Name, nil, &h); err != nil {
		t.Fatal(err)
	}
	wantTime := time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC)
	switch {
	case h.Meta.Op != schemas.OpDelete, !h.Meta.EventTime.Equal(wantTime):
		t.Errorf("meta: %+v", h.Meta)
	case h.Shares.FloatString(2) != "1.75", h.TaxableIncomeCents != 123456789012, h.TaxDueCents != -5000:
		t.Errorf("numbers: shares %s taxable %d due %d", h.Shares.FloatString(2), h.TaxableIncomeCents, h.TaxDueCents)
	case h.Role != "DEPENDANT", h.CommuneCode != "2B033", h.WithholdingRateBP != nil:
		t.Errorf("fields: %+v", h)
	}
}
