package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domains"
)

// copyDir copies the checkout's domain folders so a test can break them.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestSchemaCheck(t *testing.T) {
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"schema", "check", "--dir", "../../internal/domains"}, &out, &errb); code != exitOK {
		t.Fatalf("check of the checkout failed: %s", errb.String())
	}

	// A v3 of the tax household that adds a required field breaks
	// FULL_TRANSITIVE: old readers are fine, but the new reader cannot read
	// v1 or v2 records.
	dir := copyDir(t, "../../internal/domains")
	v3 := `{"type":"record","name":"Household","namespace":"passerelle.tax","fields":[{"name":"meta","type":{"type":"record","name":"Meta","namespace":"passerelle","fields":[{"name":"record_id","type":"string"}]}},{"name":"fiscal_number","type":"string"}]}`
	if err := os.WriteFile(filepath.Join(dir, "tax/household.v3.avsc"), []byte(v3), 0o644); err != nil {
		t.Fatal(err)
	}
	regPath := filepath.Join(dir, "tax", "registry.yaml")
	reg, err := os.ReadFile(regPath)
	if err != nil {
		t.Fatal(err)
	}
	// Pin the right sha256, so the check fails on compatibility, not on the pin.
	lines := strings.Split(string(reg), "\n")
	for i, l := range lines {
		if strings.Contains(l, "household.v2.avsc") {
			lines[i] = fmt.Sprintf("%s\n      - {version: 3, id: %d, file: household.v3.avsc, sha256: %x}", l, unusedID(t), sha256.Sum256([]byte(v3)))
		}
	}
	reg = []byte(strings.Join(lines, "\n"))
	if err := os.WriteFile(regPath, reg, 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	code := run(context.Background(), []string{"schema", "check", "--dir", dir}, io.Discard, &errb)
	if code != exitFail || !strings.Contains(errb.String(), "version 3") || !strings.Contains(errb.String(), "breaks FULL_TRANSITIVE") {
		t.Fatalf("exit %d, stderr %q: want a failure naming version 3 and the mode", code, errb.String())
	}
}

// unusedID is a schema id no subject of the registry holds.
func unusedID(t *testing.T) int {
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	id := 1
	for _, s := range cat.Subjects() {
		for _, v := range s.Versions {
			id = max(id, v.ID+1)
		}
		for _, v := range s.Sealed {
			id = max(id, v.ID+1)
		}
	}
	return id
}
