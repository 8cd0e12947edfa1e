package domains_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Every field of every domain's record has a class, read from the view
// field that reads it or from the domain's Unviewed list: a field added
// to a schema without one would be published in clear without anyone
// having decided it may be.
func TestEveryRecordFieldHasAClass(t *testing.T) {
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range domains.All() {
		s, err := cat.Subject(d.Subject())
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, v := range s.Versions {
			for _, f := range v.Schema.(*avro.RecordSchema).Fields()[1:] { // meta first, in clear
				names[f.Name()] = true
				if _, ok := d.Classify(f.Name()); !ok {
					t.Errorf("%s: record field %s (version %d) has no class: a view field must read it, or Unviewed class it", d.Name, f.Name(), v.Version)
				}
			}
		}
		for _, f := range d.Sealed() {
			if !names[f] {
				t.Errorf("%s: sealed field %s is in no version of the record", d.Name, f)
			}
		}
		for name := range d.Unviewed {
			if !names[name] {
				t.Errorf("%s: Unviewed names %s, which no version of the record has", d.Name, name)
			}
		}
	}
}

// The schema of each domain's sealed records is its latest record schema
// with the personal fields (Domain.Sealed) as bytes, written in the
// domain's folder and pinned in its registry.yaml like any schema. With
// -update the file is written from the clear one, and the line to pin it
// printed.
func TestSealedSchemasAreDerived(t *testing.T) {
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range domains.All() {
		s, _ := cat.Subject(d.Subject())
		clear := s.Latest()
		plan, err := fieldcrypt.NewPlan(d.Name, clear.Schema, d.Sealed())
		if err != nil {
			t.Fatal(err)
		}
		file := strings.TrimSuffix(clear.File, ".avsc") + ".sealed.avsc"
		if *update {
			b, err := sealedFile(d, clear)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(d.Name, file)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			json.Compact(&compact, b)
			t.Logf("%s: - {seals: %d, id: ?, file: %s, sha256: %x}", d.Name, clear.Version, file, sha256.Sum256(compact.Bytes()))
			continue
		}
		sealed := s.Sealed[clear.Version]
		if sealed == nil {
			t.Errorf("%s: version %d of %s has no sealed schema: run go test ./internal/domains -run TestSealedSchemasAreDerived -update, then pin the file in registry.yaml", d.Name, clear.Version, s.Name)
			continue
		}
		if sealed.File != file {
			t.Errorf("%s: sealed schema in %s, want %s", d.Name, sealed.File, file)
		}
		if sealed.Schema.Fingerprint() != plan.Sealed().Fingerprint() {
			t.Errorf("%s: %s is not version %d with %v sealed", d.Name, sealed.File, clear.Version, d.Sealed())
		}
	}
}

// sealedFile writes the clear schema's file with the sealed fields as
// bytes, their docs saying so.
func sealedFile(d *domain.Domain, clear *schemas.Version) ([]byte, error) {
	raw, err := fs.ReadFile(d.Schemas, clear.File)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	doc["doc"] = fmt.Sprintf("%s Sealed: the personal fields of schema id %d, each the fieldcrypt v1 envelope of the field's Avro encoding under that schema (docs/DESIGN.md, \"Personal data on the log\").", doc["doc"], clear.ID)
	for _, f := range doc["fields"].([]any) {
		m := f.(map[string]any)
		if slices.Contains(d.Sealed(), m["name"].(string)) {
			m["type"] = "bytes"
			delete(m, "default")
			m["doc"] = fmt.Sprintf("Sealed. %s", m["doc"])
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err = enc.Encode(doc)
	return buf.Bytes(), err
}
