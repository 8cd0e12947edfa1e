package gateway

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

//go:embed openapi.json
var openAPITemplate []byte

// Where openapi.json leaves room for what the domain registry says: the
// domains' names and the view's fields, written nowhere else.
const (
	domainsPlaceholder = `["<the domain registry's names>"]`
	fieldsPlaceholder  = `{"x-generated": "from the domain registry's field catalogue"}`
)

// OpenAPI is the API's OpenAPI 3.1 description, served at /openapi.json and
// checked in tests against real responses.
var OpenAPI = fromRegistry(openAPITemplate)

func fromRegistry(doc []byte) []byte {
	names, _ := json.Marshal(domains.Names())
	doc = bytes.Replace(doc, []byte(domainsPlaceholder), names, 1)
	return bytes.Replace(doc, []byte(fieldsPlaceholder), viewFields(), 1)
}

// viewFields is the schema of a view's fields: each field of the catalogue
// with its value's type and its provenance.
func viewFields() []byte {
	props := map[string]any{}
	for _, d := range domains.All() {
		for _, f := range d.Fields {
			props[d.Name+"."+f.Name] = map[string]any{
				"description":          fmt.Sprintf("%s (%s, %s)", f.Doc, d.Name, f.Class),
				"type":                 "object",
				"additionalProperties": false,
				"required":             []string{"value", "provenance"},
				"properties": map[string]any{
					"value":      valueSchema(f),
					"provenance": map[string]any{"$ref": "#/components/schemas/Provenance"},
				},
			}
		}
	}
	b, _ := json.Marshal(map[string]any{
		"description":          "The released fields, by name; each field's value has its catalogue's type (GET /v1/rules lists the fields and their classes).",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	})
	return b
}

// valueSchema is the JSON Schema of a field's value.
func valueSchema(f domain.Field) map[string]any {
	var s map[string]any
	switch f.Type {
	case domain.Date:
		s = map[string]any{"type": "string", "format": "date"}
	case domain.Decimal:
		s = map[string]any{"type": "string", "pattern": `^[0-9]+\.[0-9]{2}$`}
	case domain.Money:
		s = map[string]any{"type": "object", "additionalProperties": false, "required": []string{"cents", "currency"},
			"properties": map[string]any{"cents": map[string]any{"type": "integer"}, "currency": map[string]any{"const": "EUR"}}}
	case domain.Integer:
		s = map[string]any{"type": "integer"}
	case domain.Boolean:
		s = map[string]any{"type": "boolean"}
	case domain.List:
		s = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	case domain.Object:
		keys := map[string]any{}
		for _, k := range f.Keys {
			keys[k] = map[string]any{"type": "string"}
		}
		s = map[string]any{"type": "object", "additionalProperties": false, "required": f.Keys, "properties": keys}
	default: // text, code
		s = map[string]any{"type": "string"}
	}
	if f.Optional {
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	}
	return s
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
