package stats_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/passerelle-bus/passerelle/policy"
)

// TestTwoRulesDoNotDifference: each rule's answers are cut from its own
// protected table. A territorial rule over civil status ⋈ tax beside the
// housing rule over civil status ⋈ tax ⋈ finance would release the same
// sex × age-band margin twice, over populations that differ by the
// citizens with a tax record and no benefit payment — a group no table
// protects: the attack suite read the only such man aged 75+'s income to
// the cent from the two margins. The register refuses such a pair, even
// for two requesters who could pool their answers.
func TestTwoRulesDoNotDifference(t *testing.T) {
	files := fstest.MapFS{}
	err := fs.WalkDir(policy.Default, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policy.Default, path)
		files[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files["purposes.yaml"].Data = append(files["purposes.yaml"].Data, "- {id: territorial-statistics, description: par département}\n"...)
	for _, requester := range []string{"drees", "insee"} {
		files["aggregates/territorial.yaml"] = &fstest.MapFile{Data: []byte("id: territorial\nrequester: " + requester +
			"\npurpose: territorial-statistics\nlegal_basis: public-task\nlegal_reference: loi\n" +
			"dimensions: [tax.department, civilstatus.sex, civilstatus.age_band]\nmeasures: [tax.reference_income]\nvalid_from: 2026-01-01T00:00:00Z\n")}
		_, err := policy.Load(files, ".")
		if !errors.Is(err, policy.ErrInvalidRules) || !strings.Contains(err.Error(), "contain one another") {
			t.Fatalf("a rule of %s over civil status ⋈ tax beside housing's: %v", requester, err)
		}
	}
}
