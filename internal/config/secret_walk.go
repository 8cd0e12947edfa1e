package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// resolveSecrets sets every Secret in out from the document as written,
// before ${VAR} expansion: decoding sees expanded values only, and a
// password that came from ${VAR} looks there just like one written in
// clear. The Secrets are found in out by reflection, each with its path
// of YAML keys, which names the field in errors and finds its node in raw.
func resolveSecrets(raw []byte, out any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return err
	}
	return walkSecrets(reflect.ValueOf(out), nil, func(path []any, s *Secret) error {
		n := lookup(&doc, path)
		if n == nil {
			if s.decoded { // decoded from a node this lookup does not know
				return fmt.Errorf("%s: the secret cannot be found as written (write it in place, not through an anchor)", pathName(path))
			}
			return nil // not in the file: left as the caller set it
		}
		v, err := resolveSecret(n)
		if err != nil {
			return fmt.Errorf("%s: %w", pathName(path), err)
		}
		*s = v
		return nil
	})
}

var secretType = reflect.TypeFor[Secret]()

// walkSecrets calls visit on each Secret under v, with its path: mapping
// keys as strings, sequence indexes as ints. Fields follow yaml.v3's
// naming: the tag's name, or the field's name in lower case; inline
// fields add no key.
func walkSecrets(v reflect.Value, path []any, visit func([]any, *Secret) error) error {
	if !v.IsValid() || !holdsSecret(v.Type(), map[reflect.Type]bool{}) {
		return nil // a long list of strings is not walked item by item
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return walkSecrets(v.Elem(), path, visit)
	case reflect.Struct:
		if v.Type() == secretType {
			if !v.CanAddr() || !v.CanInterface() { // an unexported embedded Secret, which yaml.v3 cannot set either
				return nil
			}
			return visit(path, v.Addr().Interface().(*Secret))
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			tag := f.Tag.Get("yaml")
			if !f.IsExported() && !f.Anonymous || tag == "-" { // yaml.v3 reads an unexported embedded struct's fields
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			p := path
			if !strings.Contains(","+opts+",", ",inline,") {
				if name == "" {
					name = strings.ToLower(f.Name)
				}
				p = append(path[:len(path):len(path)], name)
			}
			if err := walkSecrets(v.Field(i), p, visit); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := walkSecrets(v.Index(i), append(path[:len(path):len(path)], i), visit); err != nil {
				return err
			}
		}
	case reflect.Map:
		// A map's values cannot be set in place: each is copied out,
		// resolved and stored back.
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			if err := walkSecrets(e, append(path[:len(path):len(path)], fmt.Sprint(k.Interface())), visit); err != nil {
				return err
			}
			v.SetMapIndex(k, e)
		}
	}
	return nil
}

// holdsSecret reports whether a value of t may contain a Secret.
func holdsSecret(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == secretType {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return holdsSecret(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsSecret(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// lookup finds the node at path in a document, through aliases and merge
// keys (<<) as the decoder does; nil if there is none.
func lookup(n *yaml.Node, path []any) *yaml.Node {
	for _, step := range path {
		n = deref(n)
		switch s := step.(type) {
		case string:
			n = valueAt(n, s)
		case int:
			if n.Kind != yaml.SequenceNode || s >= len(n.Content) {
				return nil
			}
			n = n.Content[s]
		}
		if n == nil {
			return nil
		}
	}
	return deref(n)
}

// deref steps from a document to its content and from an alias to its
// anchor.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

// valueAt is the value of key in mapping m: its own key first, then the
// mappings merged into it, in order.
func valueAt(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.ShortTag() == "!!merge":
			merged = append(merged, v)
		case k.Kind == yaml.ScalarNode && k.Value == key:
			return v
		}
	}
	for _, v := range merged {
		v = deref(v)
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, src := range srcs {
			if found := valueAt(deref(src), key); found != nil {
				return found
			}
		}
	}
	return nil
}

// pathName writes a path as the errors name fields: kafka.sasl.password,
// brokers[1].
func pathName(path []any) string {
	var b strings.Builder
	for _, step := range path {
		switch s := step.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, s)
		}
	}
	return b.String()
}
