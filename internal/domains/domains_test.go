package domains_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Every registered domain is complete, and each has exactly the one
// subject its topic names in the catalog.
func TestEveryDomainIsComplete(t *testing.T) {
	cat := catalog(t)
	subjects := map[string]bool{}
	for _, s := range cat.Subjects() {
		subjects[s.Name] = true
	}
	for _, d := range domains.All() {
		t.Run(d.Name, func(t *testing.T) {
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			if !subjects[d.Subject()] {
				t.Fatalf("no subject %s in the catalog", d.Subject())
			}
			delete(subjects, d.Subject())
			if got, ok := domains.ByName(d.Name); !ok || got.Topic() != d.Topic() {
				t.Fatalf("ByName(%q) = %v, %v", d.Name, got, ok)
			}
			if d.Topic() != bus.DomainTopic(d.Name, d.Entity, 1) || d.DeadLetters() != bus.DLQTopic(d.Name) {
				t.Fatalf("topics %s, %s", d.Topic(), d.DeadLetters())
			}
		})
	}
	if len(subjects) > 0 {
		t.Fatalf("subjects of no domain: %v", subjects)
	}
}

// A domain description that forgets a fact is refused, naming it.
func TestValidateNamesWhatIsMissing(t *testing.T) {
	d, _ := domains.ByName("tax")
	for _, tc := range []struct {
		name  string
		spoil func(d *domain.Domain)
		want  string
	}{
		{"name", func(d *domain.Domain) { d.Name = "Tax" }, "name"},
		{"entity", func(d *domain.Domain) { d.Entity = "" }, "entity"},
		{"doc", func(d *domain.Domain) { d.Doc = "" }, "doc"},
		{"publisher", func(d *domain.Domain) { d.Publisher.Name = "" }, "publisher"},
		{"schemas", func(d *domain.Domain) { d.Schemas = nil }, "schemas"},
		{"mapping", func(d *domain.Domain) { d.Mapping = nil }, "mapping"},
		{"two sources", func(d *domain.Domain) { d.Source.Files = &domain.FileDrop{} }, "exactly one of table and files"},
		{"no source", func(d *domain.Domain) { d.Source.Table = nil }, "exactly one of table and files"},
		{"synth", func(d *domain.Domain) { d.Synth = nil }, "synth"},
		{"sample", func(d *domain.Domain) { d.Sample = nil }, "sample"},
		{"no field", func(d *domain.Domain) { d.Fields = nil }, "fields"},
		{"field class", func(d *domain.Domain) { d.Fields[0].Class = "secret" }, `class "secret" unknown`},
		{"field type", func(d *domain.Domain) { d.Fields[1].Type = "" }, "type"},
		{"field name", func(d *domain.Domain) { d.Fields[2].Name = "Role" }, "lower_snake_case"},
		{"field twice", func(d *domain.Domain) { d.Fields[3].Name = d.Fields[4].Name }, "listed twice"},
		{"field value", func(d *domain.Domain) { d.Fields[5].Value = nil }, "value"},
		{"field doc", func(d *domain.Domain) { d.Fields[6].Doc = "" }, "doc"},
		{"keys of no object", func(d *domain.Domain) { d.Fields[7].Keys = []string{"a"} }, "keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *d
			c.Fields = append([]domain.Field(nil), d.Fields...)
			tc.spoil(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// The field catalogue — names, order, type, class — is the view's and the
// policy's contract, and what statistics, encryption and erasure read: a
// change to it is a change of the golden file, made on purpose.
func TestFieldCatalogue(t *testing.T) {
	var b strings.Builder
	for _, d := range domains.All() {
		for _, f := range d.Fields {
			opt := ""
			if f.Optional {
				opt = "\toptional"
			}
			fmt.Fprintf(&b, "%s.%s\t%s%s\t%s%s\n", d.Name, f.Name, f.Type, keys(f.Keys), f.Class, opt)
		}
	}
	path := filepath.Join("testdata", "fields.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/domains -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Fatalf("the field catalogue changed:\n%s\nwant\n%s", b.String(), want)
	}
}

func keys(k []string) string {
	if len(k) == 0 {
		return ""
	}
	return "{" + strings.Join(k, ",") + "}"
}

// Every field reads its domain's sample into a value of its declared type.
func TestEveryFieldReadsTheSample(t *testing.T) {
	for _, d := range domains.All() {
		sample := d.Sample()
		for _, f := range d.Fields {
			t.Run(d.Name+"."+f.Name, func(t *testing.T) {
				v := f.Value(sample)
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) == "null" {
					if !f.Optional {
						t.Fatal("null, and the field is not optional")
					}
					return
				}
				var shape any
				json.Unmarshal(b, &shape)
				if !hasType(shape, f.Type) {
					t.Fatalf("value %s is not a %s", b, f.Type)
				}
				if m, ok := shape.(map[string]any); ok && f.Type == domain.Object {
					for _, k := range f.Keys {
						if _, ok := m[k].(string); !ok {
							t.Errorf("value %s: key %q missing or not a string", b, k)
						}
					}
					if len(m) != len(f.Keys) {
						t.Errorf("value %s has keys beyond %v", b, f.Keys)
					}
				}
			})
		}
	}
}

func hasType(v any, t domain.Type) bool {
	switch t {
	case domain.Text, domain.Code, domain.Decimal:
		_, ok := v.(string)
		return ok
	case domain.Date:
		s, ok := v.(string)
		return ok && len(s) == len("2006-01-02") && s[4] == '-' && s[7] == '-'
	case domain.Integer:
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case domain.Boolean:
		_, ok := v.(bool)
		return ok
	case domain.Money:
		m, ok := v.(map[string]any)
		return ok && m["currency"] == "EUR" && m["cents"] != nil
	case domain.List:
		_, ok := v.([]any)
		return ok
	case domain.Object:
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// Each domain's synthetic source is of the kind its connector reads, and
// writes rows for a population: a SQL table for a table source, files for
// a file drop.
func TestSyntheticSourcesMatchTheirConnectors(t *testing.T) {
	p := synth.Generate(300, 5, synth.Options{})
	for _, d := range domains.All() {
		t.Run(d.Name, func(t *testing.T) {
			src := d.Synth(p)
			switch {
			case d.Source.SQL() && src.Table == nil, !d.Source.SQL() && src.WriteFiles == nil:
				t.Fatalf("the connector reads SQL: %v; the synthetic source writes a table: %v", d.Source.SQL(), src.Table != nil)
			case src.Table != nil && src.Table.Name != d.Source.Table.Table:
				t.Fatalf("synth writes table %s, the connector reads %s", src.Table.Name, d.Source.Table.Table)
			case src.Manifest.Total() == 0:
				t.Fatal("no rows for 300 citizens")
			}
		})
	}
}

// Decode reads a domain's sample back with its envelope.
func TestDecodeGivesTheEnvelope(t *testing.T) {
	codec := schemas.NewCodec(catalog(t))
	for _, d := range domains.All() {
		b, err := codec.Encode(d.Subject(), d.Sample())
		if err != nil {
			t.Fatal(err)
		}
		_, meta, err := d.Decode(codec, b)
		if err != nil || *meta != domain.SampleMeta(d.Name) {
			t.Fatalf("%s: meta %+v, %v", d.Name, meta, err)
		}
	}
}
