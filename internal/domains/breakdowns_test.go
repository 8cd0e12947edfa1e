package domains_test

import (
	"encoding/json"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

// A breakdown over an enum field lists exactly the enum's symbols, in the
// schema's order: the schema is the one place the symbols are written, and
// a symbol added there without the breakdown would make its records
// uncounted.
func TestBreakdownsFollowTheSchemasEnums(t *testing.T) {
	checked := 0
	for _, d := range domains.All() {
		enums := map[string][]string{}
		files, _ := fs.Glob(d.Schemas, "*.avsc")
		for _, f := range files {
			b, err := fs.ReadFile(d.Schemas, f)
			if err != nil {
				t.Fatal(err)
			}
			var schema any
			if err := json.Unmarshal(b, &schema); err != nil {
				t.Fatal(err)
			}
			one := map[string][]string{} // each version of a schema on its own
			collectEnums(schema, one)
			for k, v := range one {
				enums[k] = v
			}
		}
		for _, b := range d.Breakdowns {
			if symbols, ok := enums[b.Name]; ok && b.Kind == domain.KindOf {
				checked++
				if !slices.Equal(b.Categories, symbols) {
					t.Errorf("%s.%s: categories %v, the schema's enum %v", d.Name, b.Name, b.Categories, symbols)
				}
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d breakdowns checked against an enum", checked)
	}
}

// collectEnums maps each record field whose type is an enum (or a union
// holding one) to its symbols.
func collectEnums(v any, out map[string][]string) {
	switch x := v.(type) {
	case map[string]any:
		if fields, ok := x["fields"].([]any); ok {
			for _, f := range fields {
				fm, _ := f.(map[string]any)
				name, _ := fm["name"].(string)
				types := []any{fm["type"]}
				if u, ok := fm["type"].([]any); ok {
					types = u
				}
				for _, ty := range types {
					if tm, ok := ty.(map[string]any); ok && tm["type"] == "enum" {
						for _, s := range tm["symbols"].([]any) {
							out[name] = append(out[name], s.(string))
						}
					}
				}
			}
		}
		for _, c := range x {
			collectEnums(c, out)
		}
	case []any:
		for _, c := range x {
			collectEnums(c, out)
		}
	}
}

func TestAgeBands(t *testing.T) {
	cs, _ := domains.ByName("civilstatus")
	b, _ := cs.Breakdown("age_band")
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		born string
		want string
	}{
		{"2026-03-14", "0-17"}, {"2008-03-15", "0-17"}, {"2008-03-14", "18-24"}, {"1951-03-14", "75+"},
		{"1991-03-15", "25-34"}, {"1991-03-14", "35-44"},
	} {
		born, _ := time.Parse(time.DateOnly, c.born)
		i, ok := b.Age(born.Unix()/86400, day)
		if !ok || b.Categories[i] != c.want {
			t.Errorf("born %s: %v %v, want %s", c.born, b.Categories[i], ok, c.want)
		}
	}
	if _, ok := b.Age(day.AddDate(0, 0, 1).Unix()/86400, day); ok {
		t.Error("a birth after the day has an age")
	}
}

func TestDepartments(t *testing.T) {
	all := domain.Departments()
	if len(all) != 101 || !slices.Contains(all, "2A") || !slices.Contains(all, "976") || slices.Contains(all, "20") {
		t.Fatalf("%d départements: %v", len(all), all)
	}
	for commune, want := range map[string]string{"75056": "75", "2A004": "2A", "97411": "974", "06088": "06"} {
		if got, ok := domain.Department(commune); !ok || got != want || !slices.Contains(all, got) {
			t.Errorf("Department(%s) = %s, %v", commune, got, ok)
		}
	}
	if _, ok := domain.Department("7505"); ok {
		t.Error("a 4-character code has a département")
	}
}
