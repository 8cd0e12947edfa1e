// Package config loads Passerelle's YAML configuration files: ${VAR} and
// ${VAR:default} in values are replaced from the environment, unknown
// fields are errors, a [Secret] is only ever ${VAR} or a file of mode
// 0600, and the caller's Validate names the field at fault.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

var (
	ref = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}`)
	// flowRef is an unquoted reference in a flow collection, which YAML
	// cannot parse: '{' opens a mapping there.
	flowRef = regexp.MustCompile(`[\[{,]\s*\$\{`)
)

// ExpandValue replaces ${VAR} and ${VAR:default} in one value. A ${VAR}
// without default whose variable is unset is an error: an empty broker
// list or token is worse than a refusal to start.
func ExpandValue(v string) (string, error) {
	var missing string
	out := ref.ReplaceAllStringFunc(v, func(m string) string {
		g := ref.FindStringSubmatch(m)
		if env, ok := os.LookupEnv(g[1]); ok {
			return env
		}
		if len(m) > len(g[1])+3 { // ${NAME:...}: a default, perhaps empty
			return g[2]
		}
		if missing == "" {
			missing = g[1]
		}
		return ""
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s is not set and has no default", missing)
	}
	return out, nil
}

// Expand replaces ${VAR} and ${VAR:default} in the values of a YAML
// document, and only there: a comment or a key that mentions ${VAR} is
// left alone, so an example may document a variable it does not use.
// A value that was a reference is read again as YAML would read it
// written in place (a port becomes a number), but stays one value.
func Expand(src []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		if flowRef.Match(src) {
			err = fmt.Errorf("%w (a ${VAR} inside [ ] or { } must be quoted: [\"${VAR}\"])", err)
		}
		return nil, err
	}
	if doc.Kind == 0 { // an empty document
		return src, nil
	}
	if err := expandNode(&doc, nil); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return out.Bytes(), enc.Close()
}

// expandNode expands n in place; path names the field in errors.
func expandNode(n *yaml.Node, path []any) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if !ref.MatchString(n.Value) {
			return nil
		}
		v, err := ExpandValue(n.Value)
		if err != nil {
			return fmt.Errorf("%s (line %d): %w", pathName(path), n.Line, err)
		}
		// The value's type is what the expanded text says, as if written
		// in place: "${PORT:8080}" is the number 8080.
		n.Value, n.Tag, n.Style = v, "", 0
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 { // values, not keys
			if err := expandNode(n.Content[i], append(path[:len(path):len(path)], n.Content[i-1].Value)); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := expandNode(c, append(path[:len(path):len(path)], i)); err != nil {
				return err
			}
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := expandNode(c, path); err != nil {
				return err
			}
		}
	}
	return nil
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
	if err := Decode(raw, out); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// Decode is Load on a document already read. Secrets are read from raw as
// written, the rest after expansion.
func Decode(raw []byte, out any) error {
	expanded, err := Expand(raw)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := resolveSecrets(raw, out); err != nil {
		return err
	}
	if v, ok := out.(Validator); ok {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	return nil
}
