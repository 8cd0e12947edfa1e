package gateway

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every status a route's handler can answer, read from the code, is in
// the OpenAPI document for that operation: a client generated from the
// document is never surprised. The code is read, not run, so that a
// status no test happens to provoke is still held to the document: each
// route's handler is followed through the functions and methods it
// calls, and every http.Status constant met on the way counts. The
// schema registry's routes are read from its own package, under the path
// the gateway mounts it at. And every operation the document lists is a
// route: the document promises nothing the code does not serve.
func TestOpenAPIDocumentsEveryStatus(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	routes := servedRoutes(t)
	for pattern, r := range routes {
		method, path, _ := strings.Cut(pattern, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s: not in the OpenAPI document", pattern)
			continue
		}
		statuses := r.code.statuses(r.handler)
		for _, s := range slices.Sorted(maps.Keys(statuses)) {
			if _, ok := op.Responses[strconv.Itoa(s)]; !ok {
				t.Errorf("%s can answer %d, which the document does not list (it lists %v)", pattern, s, slices.Sorted(maps.Keys(op.Responses)))
			}
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if _, ok := routes[strings.ToUpper(method)+" "+path]; !ok {
				t.Errorf("%s %s: in the OpenAPI document, served by no route", strings.ToUpper(method), path)
			}
		}
	}
}

// A route behind Guard.protect is marked in the document as needing a
// member token, and no other route is: the document tells a client which
// answers are a member's alone (and never stored, see noStore), and a test
// of every protected route finds them there.
func TestOpenAPIMarksProtectedRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	protected := 0
	for pattern, r := range servedRoutes(t) {
		method, path, _ := strings.Cut(pattern, " ")
		marked := len(doc.Paths[path][strings.ToLower(method)].Security) > 0
		if r.handler.protected() {
			protected++
		}
		if marked != r.handler.protected() {
			t.Errorf("%s: behind Guard.protect %v, needs a token in the document %v", pattern, r.handler.protected(), marked)
		}
	}
	if protected < 8 {
		t.Fatalf("found %d routes behind Guard.protect: the reader missed some", protected)
	}
}

// protected reports whether the handler is Guard.protect(...)'s.
func (h handlerRef) protected() bool {
	call, ok := h.expr.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "protect"
}

// registryMount is where the gateway mounts the schema registry's
// handler, a subtree whose routes are the schemas package's.
const registryMount = "/registry/"

// route is a route's handler and the code it is read from.
type route struct {
	code    *pkgCode
	handler handlerRef
}

// servedRoutes is every route the gateway serves, "METHOD /path" →
// handler: its own, and the schema registry's under registryMount.
func servedRoutes(t *testing.T) map[string]route {
	gw := readPackage(t, ".")
	own := gw.routes()
	if len(own) < 15 {
		t.Fatalf("found %d routes in the gateway's code: the reader missed some", len(own))
	}
	if _, ok := own[registryMount]; !ok {
		t.Fatalf("the gateway no longer mounts the schema registry at %s: tell this test where it is", registryMount)
	}
	registry := readPackage(t, "../../schemas")
	mounted := registry.routes()
	if len(mounted) < 10 {
		t.Fatalf("found %d routes in the schema registry's code: the reader missed some", len(mounted))
	}
	out := map[string]route{}
	for pattern, h := range own {
		if pattern == registryMount {
			continue
		}
		if !strings.Contains(pattern, " ") {
			t.Errorf("%s: a route for every method, which the document cannot say", pattern)
		}
		out[pattern] = route{gw, h}
	}
	for pattern, h := range mounted {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			t.Errorf("registry route %s: a route for every method, which the document cannot say", pattern)
			continue
		}
		out[method+" "+strings.TrimSuffix(registryMount, "/")+path] = route{registry, h}
	}
	return out
}

// httpStatus maps the net/http constants the gateway uses to their codes.
var httpStatus = map[string]int{
	"StatusOK": 200, "StatusCreated": 201, "StatusNoContent": 204, "StatusBadRequest": 400, "StatusUnauthorized": 401,
	"StatusForbidden": 403, "StatusNotFound": 404, "StatusConflict": 409, "StatusUnprocessableEntity": 422,
	"StatusInternalServerError": 500, "StatusServiceUnavailable": 503,
}

type pkgCode struct {
	t       *testing.T
	funcs   map[string]*ast.FuncDecl // "Type.Method" or "func"
	structs map[string]*ast.StructType
}

func readPackage(t *testing.T, dir string) *pkgCode {
	fset := token.NewFileSet()
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	c := &pkgCode{t: t, funcs: map[string]*ast.FuncDecl{}, structs: map[string]*ast.StructType{}}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				c.funcs[funcKey(d)] = d
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						if st, ok := ts.Type.(*ast.StructType); ok {
							c.structs[ts.Name.Name] = st
						}
					}
				}
			}
		}
	}
	return c
}

func funcKey(d *ast.FuncDecl) string {
	if d.Recv == nil {
		return d.Name.Name
	}
	return typeName(d.Recv.List[0].Type) + "." + d.Name.Name
}

func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// handlerRef is a route's handler expression and the function it sits in
// (for the types of the names it uses).
type handlerRef struct {
	expr ast.Expr
	in   *ast.FuncDecl
}

// routes finds every mux.Handle and mux.HandleFunc call: pattern → handler.
func (c *pkgCode) routes() map[string]handlerRef {
	out := map[string]handlerRef{}
	for _, fd := range c.funcs {
		ast.Inspect(fd, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				return true
			}
			pattern, _ := strconv.Unquote(lit.Value)
			out[pattern] = handlerRef{call.Args[1], fd}
			return true
		})
	}
	return out
}

// statuses follows a handler expression through every call it makes.
func (c *pkgCode) statuses(h handlerRef) map[int]bool {
	out := map[int]bool{}
	seen := map[string]bool{}
	c.walk(h.expr, h.in, out, seen)
	return out
}

func (c *pkgCode) walk(n ast.Node, in *ast.FuncDecl, out map[int]bool, seen map[string]bool) {
	locals := c.locals(in)
	if id, ok := n.(*ast.Ident); ok { // a function as a value: serveOpenAPI
		c.follow(id.Name, out, seen)
		return
	}
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.KeyValueExpr: // a field's name is not a call
			ast.Inspect(n.Value, visit)
			return false
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok {
				c.follow(id.Name, out, seen)
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "http" {
				if s, ok := httpStatus[n.Sel.Name]; ok {
					out[s] = true
				} else if strings.HasPrefix(n.Sel.Name, "Status") {
					c.t.Errorf("http.%s: add it to httpStatus", n.Sel.Name)
				}
				return false
			}
			if typ := c.typeOf(n.X, in, locals); typ != "" {
				c.follow(typ+"."+n.Sel.Name, out, seen)
			}
			ast.Inspect(n.X, visit)
			return false
		}
		return true
	}
	ast.Inspect(n, visit)
}

// follow walks the body of the function or method named key, once.
func (c *pkgCode) follow(key string, out map[int]bool, seen map[string]bool) {
	fd, ok := c.funcs[key]
	if !ok || seen[key] {
		return
	}
	seen[key] = true
	c.walk(fd.Body, fd, out, seen)
}

// typeOf names the package type of x: the receiver, a field of a typed
// expression, or a local variable assigned one.
func (c *pkgCode) typeOf(x ast.Expr, in *ast.FuncDecl, locals map[string]ast.Expr) string {
	switch x := x.(type) {
	case *ast.Ident:
		if in != nil && in.Recv != nil && len(in.Recv.List[0].Names) > 0 && in.Recv.List[0].Names[0].Name == x.Name {
			return typeName(in.Recv.List[0].Type)
		}
		if e, ok := locals[x.Name]; ok {
			return c.typeOf(e, in, nil)
		}
	case *ast.SelectorExpr:
		st := c.structs[c.typeOf(x.X, in, locals)]
		if st == nil {
			return ""
		}
		for _, f := range st.Fields.List {
			for _, name := range f.Names {
				if name.Name == x.Sel.Name {
					return typeName(f.Type)
				}
			}
		}
	}
	return ""
}

// locals are the function's variables assigned a selector (g := c.Guard).
func (c *pkgCode) locals(fd *ast.FuncDecl) map[string]ast.Expr {
	out := map[string]ast.Expr{}
	if fd == nil || fd.Body == nil {
		return out
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
			for i, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					if sel, ok := as.Rhs[i].(*ast.SelectorExpr); ok {
						out[id.Name] = sel
					}
				}
			}
		}
		return true
	})
	return out
}
