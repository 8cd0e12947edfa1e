// Package config loads Passerelle's YAML configuration files: ${VAR} and
// ${VAR:default} are replaced from the environment, unknown fields are
// errors, and the caller's Validate names the field at fault.
package config

import (
	"bytes"
	"fmt"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

var ref = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}`)

// Expand replaces ${VAR} and ${VAR:default}. A ${VAR} without default whose
// variable is unset is an error: an empty broker list or token is worse
// than a refusal to start.
func Expand(src []byte) ([]byte, error) {
	var missing []string
	out := ref.ReplaceAllFunc(src, func(m []byte) []byte {
		g := ref.FindSubmatch(m)
		if v, ok := os.LookupEnv(string(g[1])); ok {
			return []byte(v)
		}
		if bytes.Contains(m, []byte(":")) {
			return g[2]
		}
		missing = append(missing, string(g[1]))
		return nil
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("environment variable %s is not set and has no default", missing[0])
	}
	return out, nil
}

// Validator is implemented by configurations that check themselves.
type Validator interface{ Validate() error }

// Load reads path into out, expanding the environment, refusing unknown
// fields, then validates out if it can.
func Load(path string, out any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	expanded, err := Expand(raw)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if v, ok := out.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
	}
	return nil
}
