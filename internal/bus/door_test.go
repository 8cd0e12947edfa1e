package bus_test

import (
	"errors"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// kafkaGo is the client the bus wraps; its sub-packages (sasl, …) count
// as it.
const kafkaGo = "github.com/segmentio/kafka-go"

func isKafkaGo(importPath string) bool {
	return importPath == kafkaGo || strings.HasPrefix(importPath, kafkaGo+"/")
}

// The bus is the only door to Kafka: no file of the module outside
// internal/bus, tests included, imports kafka-go. One that does is named
// with what to do instead.
func TestOnlyTheBusImportsKafkaGo(t *testing.T) {
	root := moduleRoot(t)
	var offenders []string
	parsed := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p == root {
				return nil
			}
			// What the go command leaves out of the module: hidden and
			// underscored folders, testdata, vendored code and nested
			// modules.
			name := d.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		parsed++
		if strings.HasPrefix(rel, "internal/bus/") {
			return nil
		}
		for _, imp := range f.Imports {
			if ip, _ := strconv.Unquote(imp.Path.Value); isKafkaGo(ip) {
				offenders = append(offenders, rel+" imports "+ip)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if parsed < 100 {
		// A walk that found next to nothing proves nothing.
		t.Fatalf("parsed only %d .go files under %s: is it the module's root?", parsed, root)
	}
	for _, o := range offenders {
		t.Errorf("%s: only internal/bus may; use bus.Message, bus.Header and the bus's API instead", o)
	}
}

// The bus's exported API names none of kafka-go's types, or its callers
// would have to import kafka-go to use it.
func TestTheBusAPINamesNoKafkaGoType(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	kafkaNames := map[string]bool{} // what the bus's files call kafka-go's packages
	matches, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range matches {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case !isKafkaGo(ip):
			case imp.Name != nil:
				kafkaNames[imp.Name.Name] = true
			case ip == kafkaGo:
				kafkaNames["kafka"] = true
			default:
				kafkaNames[path.Base(ip)] = true
			}
		}
		files = append(files, f)
	}
	if len(kafkaNames) == 0 {
		t.Fatal("no file of the bus imports kafka-go: is this test in internal/bus?")
	}
	// go/doc keeps what a caller sees: exported declarations, exported
	// fields and methods, signatures without bodies.
	p, err := doc.NewFromFiles(fset, files, "github.com/passerelle-bus/passerelle/internal/bus")
	if err != nil {
		t.Fatal(err)
	}
	var decls []ast.Decl
	for _, v := range append(p.Consts, p.Vars...) {
		decls = append(decls, v.Decl)
	}
	for _, f := range p.Funcs {
		decls = append(decls, f.Decl)
	}
	for _, ty := range p.Types {
		decls = append(decls, ty.Decl)
		for _, v := range append(ty.Consts, ty.Vars...) {
			decls = append(decls, v.Decl)
		}
		for _, f := range append(ty.Funcs, ty.Methods...) {
			decls = append(decls, f.Decl)
		}
	}
	for _, d := range decls {
		ast.Inspect(d, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && kafkaNames[x.Name] {
					t.Errorf("%s: the bus's API names %s.%s; give the bus a type of its own for it", fset.Position(sel.Pos()), x.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// moduleRoot walks up from the package's folder to the go.mod of the
// module.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package's folder")
		}
		dir = parent
	}
}
