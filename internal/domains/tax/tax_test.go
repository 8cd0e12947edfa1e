package tax_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
	"github.com/passerelle-bus/passerelle/schemas"
)

// A reader on either version of the household reads the other's data: v2
// added the withholding rate with a default.
func TestResolutionAcrossVersions(t *testing.T) {
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	codec := schemas.NewCodec(cat)
	subj, _ := cat.Subject(tax.Domain().Subject())
	v1, v2 := subj.Versions[0], subj.Versions[1]
	sample := tax.Domain().Sample().(*tax.Household)
	golden := func(v int) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", fmt.Sprintf("%s.v%d.bin", subj.Name, v)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	var h tax.Household
	if _, err := codec.Decode(golden(1), subj.Name, v2.Schema, &h); err != nil {
		t.Fatal(err)
	}
	if h.WithholdingRateBP != nil || h.HouseholdID != sample.HouseholdID || h.Shares.Cmp(sample.Shares) != 0 {
		t.Fatalf("v2 reader on v1 data: %+v", h)
	}

	var h1 tax.Household
	if _, err := codec.Decode(golden(2), subj.Name, v1.Schema, &h1); err != nil {
		t.Fatal(err)
	}
	if h1.ReferenceIncomeCents != sample.ReferenceIncomeCents || h1.WithholdingRateBP != nil {
		t.Fatalf("v1 reader on v2 data: %+v", h1)
	}
}
