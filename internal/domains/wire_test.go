package domains_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files")

func catalog(t testing.TB) *schemas.Catalog {
	t.Helper()
	c, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// versions are every version of d's subject, oldest first.
func versions(t testing.TB, d *domain.Domain) []*schemas.Version {
	t.Helper()
	s, err := catalog(t).Subject(d.Subject())
	if err != nil {
		t.Fatal(err)
	}
	return s.Versions
}

// goldenPath is the golden encoding of d's sample with version v, in d's
// folder.
func goldenPath(d *domain.Domain, v *schemas.Version) string {
	return filepath.Join(d.Name, "testdata", "golden", fmt.Sprintf("%s.v%d.bin", v.Subject, v.Version))
}

// schemaPath is v's .avsc file in d's folder.
func schemaPath(d *domain.Domain, v *schemas.Version) string { return filepath.Join(d.Name, v.File) }

// fresh returns a new zero value of the sample's type.
func fresh(sample any) any { return reflect.New(reflect.TypeOf(sample).Elem()).Interface() }

// Each domain's sample, written with every version of its subject, is byte
// for byte its golden file: the wire format never changes by accident.
func TestGoldenEncodings(t *testing.T) {
	codec := schemas.NewCodec(catalog(t))
	for _, d := range domains.All() {
		sample := d.Sample()
		for _, v := range versions(t, d) {
			t.Run(fmt.Sprintf("%s/v%d", v.Subject, v.Version), func(t *testing.T) {
				got, err := codec.Append(nil, v, sample)
				if err != nil {
					t.Fatal(err)
				}
				if *update {
					if err := os.WriteFile(goldenPath(d, v), got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(goldenPath(d, v))
				if err != nil {
					t.Fatalf("%v (run go test ./internal/domains -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("encoding changed:\n got %x\nwant %x", got, want)
				}
				// Decode with the writer's own schema, then re-encode: the
				// bytes must survive the round trip unchanged.
				out := fresh(sample)
				wv, err := codec.Decode(want, v.Subject, nil, out)
				if err != nil {
					t.Fatal(err)
				}
				if wv != v {
					t.Fatalf("decoded as %s v%d, want v%d", wv.Subject, wv.Version, v.Version)
				}
				again, err := codec.Append(nil, v, out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, want) {
					t.Fatalf("round trip changed the bytes:\n got %x\nwant %x", again, want)
				}
			})
		}
	}
}
