package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/config"
)

type sample struct {
	Name  string   `yaml:"name"`
	Hosts []string `yaml:"hosts"`
}

func (s *sample) Validate() error {
	if s.Name == "" {
		return &fieldErr{"name"}
	}
	return nil
}

type fieldErr struct{ f string }

func (e *fieldErr) Error() string { return e.f + ": required" }

func TestLoad(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_HOST", "kafka-1:9092")
	for _, tc := range []struct {
		name, yaml, want, err string
	}{
		{"env", "name: a\nhosts: [\"${PASSERELLE_TEST_HOST}\"]\n", "kafka-1:9092", ""},
		{"default", "name: a\nhosts: [\"${PASSERELLE_UNSET_X:localhost:9092}\"]\n", "localhost:9092", ""},
		{"block list", "name: a\nhosts:\n  - ${PASSERELLE_UNSET_X:localhost:9092}\n", "localhost:9092", ""},
		{"in a comment", "# set ${PASSERELLE_UNSET_Z} to override\nname: a # ${PASSERELLE_UNSET_Z}\nhosts: [h] # or ${ALSO_UNSET}\n", "h", ""},
		{"unquoted in a flow list", "name: a\nhosts: [${PASSERELLE_TEST_HOST}]\n", "", "must be quoted"},
		{"a number", "name: ${PASSERELLE_UNSET_N:42}\nhosts: [h]\n", "h", ""},
		{"unset without default", "name: ${PASSERELLE_UNSET_Y}\n", "", "name (line 1): environment variable PASSERELLE_UNSET_Y is not set"},
		{"unset in a list", "name: a\nhosts: [h, \"${PASSERELLE_UNSET_Y}\"]\n", "", "hosts[1] (line 2): environment variable PASSERELLE_UNSET_Y is not set"},
		{"unknown field", "name: a\nhost: x\n", "", "field host not found"},
		{"validation", "hosts: [a]\n", "", "name: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(p, []byte(tc.yaml), 0o644)
			var s sample
			err := config.Load(p, &s)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || s.Hosts[0] != tc.want {
				t.Fatalf("got %v %v", s, err)
			}
		})
	}
}

func FuzzExpand(f *testing.F) {
	f.Add([]byte("a: ${X:y}"))
	f.Fuzz(func(t *testing.T, b []byte) { config.Expand(b) })
}

// A reference takes the type its text has, as if written in place, and
// keys are never expanded.
func TestExpandKeepsTypesAndKeys(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_PORT", "8080")
	var out struct {
		Port    int               `yaml:"port"`
		Wait    time.Duration     `yaml:"wait"`
		On      bool              `yaml:"on"`
		Labels  map[string]string `yaml:"labels"`
		Escaped string            `yaml:"escaped"`
	}
	doc := "port: ${PASSERELLE_TEST_PORT}\nwait: ${PASSERELLE_UNSET_W:2s}\non: ${PASSERELLE_UNSET_B:true}\nlabels: {\"${KEY}\": \"${PASSERELLE_TEST_PORT}\"}\nescaped: 'a # b ${PASSERELLE_UNSET_E:}'\n"
	if err := config.Decode([]byte(doc), &out); err != nil {
		t.Fatal(err)
	}
	if out.Port != 8080 || out.Wait != 2*time.Second || !out.On || out.Labels["${KEY}"] != "8080" || out.Escaped != "a # b " {
		t.Fatalf("got %+v", out)
	}
}
