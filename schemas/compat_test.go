package schemas_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hamba/avro/v2"

	"github.com/passerelle-bus/passerelle/schemas"
)

func parse(t *testing.T, s string) avro.Schema {
	t.Helper()
	sc, err := avro.ParseWithCache(s, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

const (
	base      = `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`
	addOpt    = `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null}]}`
	addReq    = `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}`
	dropA     = `{"type":"record","name":"R","fields":[]}`
	aLong     = `{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}`
	aString   = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`
	baseADef  = `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":0}]}`
	enum2     = `{"type":"record","name":"R","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}}]}`
	enum3     = `{"type":"record","name":"R","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y","Z"]}}]}`
	enum2Def  = `{"type":"record","name":"R","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}}]}`
	enum3Def  = `{"type":"record","name":"R","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y","Z"],"default":"X"}}]}`
	renamed   = `{"type":"record","name":"S","fields":[{"name":"a","type":"int"}]}`
	aliasedTo = `{"type":"record","name":"R","fields":[{"name":"alpha","type":"int","aliases":["a"]}]}`
)

// The modes of Confluent Schema Registry, judged by Avro's resolution rules.
// Each row adds `next` after `prev` (oldest first).
func TestCompatibilityModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode schemas.Mode
		prev []string
		next string
		ok   bool
	}{
		{"optional field, full", schemas.Full, []string{base}, addOpt, true},
		{"required field, backward", schemas.Backward, []string{base}, addReq, false},
		{"required field, forward", schemas.Forward, []string{base}, addReq, true},
		{"required field, none", schemas.None, []string{base}, addReq, true},
		{"drop field without default, backward", schemas.Backward, []string{base}, dropA, true},
		{"drop field without default, forward", schemas.Forward, []string{base}, dropA, false},
		{"drop field with default, full", schemas.Full, []string{baseADef}, dropA, true},
		{"int to long, backward", schemas.Backward, []string{base}, aLong, true},
		{"int to long, forward", schemas.Forward, []string{base}, aLong, false},
		{"int to string", schemas.Backward, []string{base}, aString, false},
		{"enum symbol added, backward", schemas.Backward, []string{enum2}, enum3, true},
		{"enum symbol added, forward, no default", schemas.Forward, []string{enum2}, enum3, false},
		{"enum symbol added, forward, reader default", schemas.Forward, []string{enum2Def}, enum3Def, true},
		{"record renamed", schemas.Backward, []string{base}, renamed, false},
		{"field renamed with alias, backward", schemas.Backward, []string{base}, aliasedTo, true},
		// Transitive modes check against every earlier version, plain
		// ones against the last only.
		{"backward, only last", schemas.Backward, []string{addReq, base}, addOpt, true},
		{"backward transitive, all", schemas.BackwardTransitive, []string{aString, base}, addOpt, false},
		{"full transitive, all", schemas.FullTransitive, []string{base, addOpt}, base, true},
		{"forward transitive, all", schemas.ForwardTransitive, []string{addReq, base}, dropA, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := make([]avro.Schema, len(tc.prev))
			for i, p := range tc.prev {
				prev[i] = parse(t, p)
			}
			err := schemas.CheckNew(tc.mode, prev, parse(t, tc.next))
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, schemas.ErrIncompatible) {
				t.Fatalf("error %v does not wrap ErrIncompatible", err)
			}
		})
	}
}

// hamba's checker caches by canonical fingerprint, which ignores defaults.
// One checker asked twice about readers that differ only by a default gives
// the first answer twice; CanRead must not.
func TestCheckerCacheIgnoresDefaults(t *testing.T) {
	writer := parse(t, dropA)
	withDef, withoutDef := parse(t, baseADef), parse(t, base)
	shared := avro.NewSchemaCompatibility()
	if err := shared.Compatible(withDef, writer); err != nil {
		t.Fatal(err)
	}
	if shared.Compatible(withoutDef, writer) == nil {
		t.Log("hamba's shared checker wrongly accepts a reader field without default: CanRead works around it")
	}
	if err := schemas.CanRead(withoutDef, writer); err == nil {
		t.Fatal("CanRead accepted a reader field that has no default and no writer value")
	}
}

func TestEmbeddedRegistryIsConsistent(t *testing.T) {
	cat := catalog(t)
	if err := cat.Check(); err != nil {
		t.Fatal(err)
	}
	// Every subject belongs to a topic of the contract, and shares one
	// definition of the meta envelope.
	var meta string
	for _, s := range cat.Subjects() {
		if !strings.HasPrefix(s.Name, "passerelle.") || !strings.HasSuffix(s.Name, "-value") {
			t.Errorf("subject %s does not follow <topic>-value", s.Name)
		}
		for _, v := range s.Versions {
			f := v.Schema.(*avro.RecordSchema).Fields()[0]
			if f.Name() != "meta" {
				t.Errorf("%s: first field is %s, want meta", v.File, f.Name())
				continue
			}
			got := f.Type().String()
			if meta == "" {
				meta = got
			} else if got != meta {
				t.Errorf("%s: meta differs from the others:\n%s\n%s", v.File, got, meta)
			}
		}
	}
}

func TestLoadRefusesBrokenRegistries(t *testing.T) {
	good := fstest.MapFS{
		"a.avsc": {Data: []byte(base)},
		"b.avsc": {Data: []byte(addReq)},
	}
	sum := func(s string) string {
		c, err := schemas.Load(schemas.Source{Name: "t", FS: fstest.MapFS{"a.avsc": {Data: []byte(s)}, "registry.yaml": {Data: []byte(
			"subjects:\n- subject: s-value\n  compatibility: NONE\n  versions:\n  - {version: 1, id: 1, file: a.avsc, sha256: x}\n")}}})
		_ = c
		// The error message carries the real sum.
		msg := err.Error()
		i := strings.Index(msg, "(have ")
		return msg[i+6 : i+6+64]
	}
	sa, sb := sum(base), sum(addReq)
	for _, tc := range []struct{ name, yaml, want string }{
		{"breaks mode", "subjects:\n- subject: s-value\n  compatibility: BACKWARD\n  versions:\n  - {version: 1, id: 1, file: a.avsc, sha256: " + sa + "}\n  - {version: 2, id: 2, file: b.avsc, sha256: " + sb + "}\n", "breaks BACKWARD"},
		{"changed file", "subjects:\n- subject: s-value\n  compatibility: NONE\n  versions:\n  - {version: 1, id: 1, file: a.avsc, sha256: " + sb + "}\n", "changed after release"},
		{"duplicate id", "subjects:\n- subject: s-value\n  compatibility: NONE\n  versions:\n  - {version: 1, id: 1, file: a.avsc, sha256: " + sa + "}\n  - {version: 2, id: 1, file: b.avsc, sha256: " + sb + "}\n", "id: 1 already used"},
		{"version gap", "subjects:\n- subject: s-value\n  compatibility: NONE\n  versions:\n  - {version: 2, id: 1, file: a.avsc, sha256: " + sa + "}\n", "versions[0].version: 2, want 1"},
		{"bad mode", "subjects:\n- subject: s-value\n  compatibility: SIDEWAYS\n  versions:\n  - {version: 1, id: 1, file: a.avsc, sha256: " + sa + "}\n", `compatibility: unknown compatibility mode "SIDEWAYS"`},
		{"unknown key", "subjects:\n- subject: s-value\n  compat: NONE\n", "field compat not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"registry.yaml": {Data: []byte(tc.yaml)}}
			for k, v := range good {
				fsys[k] = v
			}
			cat, err := schemas.Load(schemas.Source{Name: "t", FS: fsys})
			if err == nil {
				err = cat.Check()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// Ids and subjects are global: two domains' registries may not claim
	// the same.
	one := func(subject string, id int) schemas.Source {
		return schemas.Source{Name: subject, FS: fstest.MapFS{"a.avsc": {Data: []byte(base)}, "registry.yaml": {Data: []byte(fmt.Sprintf(
			"subjects:\n- subject: %s\n  compatibility: NONE\n  versions:\n  - {version: 1, id: %d, file: a.avsc, sha256: %s}\n", subject, id, sa))}}}
	}
	if _, err := schemas.Load(one("a-value", 1), one("b-value", 2)); err != nil {
		t.Fatalf("two domains, two ids: %v", err)
	}
	for _, tc := range []struct {
		name string
		srcs []schemas.Source
		want string
	}{
		{"one id in two domains", []schemas.Source{one("a-value", 1), one("b-value", 1)}, "b-value: registry.yaml: subjects[0].versions[0].id: 1 already used by a-value"},
		{"one subject in two domains", []schemas.Source{one("a-value", 1), one("a-value", 2)}, `subject: "a-value" listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := schemas.Load(tc.srcs...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
