package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/gateway"
)

// compile returns a validator for one component schema of the OpenAPI
// document (OpenAPI 3.1 schemas are JSON Schema 2020-12).
func compile(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	return compileAt(t, "/components/schemas/"+name)
}

// compileResponse returns a validator for the schema the document gives
// an operation's answer of that status and media type; the test fails if
// the document lists no such answer.
func compileResponse(t *testing.T, path, method string, status int, mediaType string) *jsonschema.Schema {
	t.Helper()
	return compileAt(t, "/paths/"+pointerToken(path)+"/"+strings.ToLower(method)+"/responses/"+strconv.Itoa(status)+
		"/content/"+pointerToken(mediaType)+"/schema")
}

// pointerToken escapes one JSON pointer token (RFC 6901), for a URI
// fragment (RFC 3986).
func pointerToken(s string) string {
	s = strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
	return url.PathEscape(s)
}

// compileAt returns a validator for the schema at pointer in the document.
func compileAt(t *testing.T, pointer string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(gateway.OpenAPI))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("openapi.json#" + pointer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Real answers of the gateway conform to the OpenAPI document it serves.
func TestResponsesMatchOpenAPI(t *testing.T) {
	f := newFixture(t)
	call := func(member, method, path string, body any) (int, []byte) { return f.do(t, member, method, path, body) }
	code, spec := call("", "GET", "/openapi.json", nil)
	if code != 200 || !bytes.Equal(spec, gateway.OpenAPI) {
		t.Fatal("/openapi.json does not serve the document")
	}
	consentBody := map[string]any{"nir": f.nir, "requester": "cnaf", "purpose": "disability-allowance-review",
		"fields": []string{"health.*"}, "start": time.Now().Add(-time.Minute), "expiry": time.Now().Add(time.Hour)}
	for _, tc := range []struct {
		name, member, method, path string
		body                       any
		status                     int
		schema                     string
	}{
		{"view", "cnaf", "GET", "/v1/citizens/" + f.nir + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income,civilstatus.birth_date,civilstatus.sex", nil, 200, "ViewResponse"},
		{"refused view", "dgfip", "GET", "/v1/citizens/" + f.nir + "/view?purpose=tax-assessment&fields=health.scheme", nil, 403, "Problem"},
		{"bad NIR", "cnaf", "GET", "/v1/citizens/123/view?purpose=tax-assessment&fields=health.scheme", nil, 400, "Problem"},
		{"no token", "", "GET", "/v1/citizens/" + f.nir + "/view?purpose=tax-assessment&fields=health.scheme", nil, 401, "Problem"},
		{"consent", "portail", "POST", "/v1/consents", consentBody, 201, "Consent"},
		{"consents", "portail", "GET", "/v1/citizens/" + f.nir + "/consents", nil, 200, "ConsentList"},
		{"members", "", "GET", "/v1/members", nil, 200, "Members"},
		{"unknown member", "", "GET", "/v1/members/nobody/jwks.json", nil, 404, "Problem"},
		{"rules", "", "GET", "/v1/rules", nil, 200, "Rules"},
		{"audit events", "cnil", "GET", "/v1/audit/events?nir=" + f.nir, nil, 200, "AuditEvents"},
		{"access log", "portail", "GET", "/v1/citizens/" + f.nir + "/access-log", nil, 200, "AccessLog"},
		{"inclusion proof", "cnil", "GET", "/v1/audit/proof?index=0", nil, 200, "AuditProof"},
		{"consistency proof", "cnil", "GET", "/v1/audit/proof?from=1&size=2", nil, 200, "AuditProof"},
		{"proof of nothing", "cnil", "GET", "/v1/audit/proof?index=999999", nil, 404, "Problem"},
		{"no such path", "cnaf", "GET", "/v1/citizens/" + f.nir + "/nothing", nil, 404, "Problem"},
		{"no such method", "portail", "PUT", "/v1/consents", consentBody, 405, "Problem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(tc.member, tc.method, tc.path, tc.body)
			if code != tc.status {
				t.Fatalf("%d %s, want %d", code, body, tc.status)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if err := compile(t, tc.schema).Validate(v); err != nil {
				t.Fatalf("%s does not match %s: %v", strings.TrimSpace(string(body)), tc.schema, err)
			}
		})
	}
}

// Every answer the document lists for the schema registry's routes is
// given by a real gateway, and conforms to the document: its status and
// media type are the operation's, its body the schema given there.
func TestRegistryMatchesOpenAPI(t *testing.T) {
	srv := publicGateway(t)
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	const tax = "passerelle.tax.household.v1-value"
	subject, err := cat.Subject(tax)
	if err != nil {
		t.Fatal(err)
	}
	registered, _ := json.Marshal(map[string]string{"schema": subject.Versions[0].Text})
	unknown, _ := json.Marshal(map[string]string{"schema": `{"type":"string"}`})
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(gateway.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	given := map[string]bool{} // "METHOD path status"
	for _, tc := range []struct {
		method, op, path string // op: the document's path
		body             []byte
		status           int
	}{
		{"GET", "/registry/subjects", "/registry/subjects", nil, 200},
		{"POST", "/registry/subjects/{subject}", "/registry/subjects/" + tax, registered, 200},
		{"POST", "/registry/subjects/{subject}", "/registry/subjects/" + tax, unknown, 404},
		{"POST", "/registry/subjects/{subject}", "/registry/subjects/nope", registered, 404},
		{"POST", "/registry/subjects/{subject}", "/registry/subjects/" + tax, []byte(`{"schema":"{"}`), 422},
		{"POST", "/registry/subjects/{subject}", "/registry/subjects/passerelle.hr.employment.v1-value", []byte(`not JSON`), 422},
		{"GET", "/registry/subjects/{subject}/versions", "/registry/subjects/" + tax + "/versions", nil, 200},
		{"GET", "/registry/subjects/{subject}/versions", "/registry/subjects/nope/versions", nil, 404},
		{"GET", "/registry/subjects/{subject}/versions/{version}", "/registry/subjects/" + tax + "/versions/1", nil, 200},
		{"GET", "/registry/subjects/{subject}/versions/{version}", "/registry/subjects/" + tax + "/versions/latest", nil, 200},
		{"GET", "/registry/subjects/{subject}/versions/{version}", "/registry/subjects/" + tax + "/versions/-1", nil, 200},
		{"GET", "/registry/subjects/{subject}/versions/{version}", "/registry/subjects/" + tax + "/versions/3", nil, 404},
		{"GET", "/registry/subjects/{subject}/versions/{version}", "/registry/subjects/nope/versions/1", nil, 404},
		{"GET", "/registry/subjects/{subject}/versions/{version}", "/registry/subjects/" + tax + "/versions/0", nil, 422},
		{"GET", "/registry/subjects/{subject}/versions/{version}/schema", "/registry/subjects/" + tax + "/versions/latest/schema", nil, 200},
		{"GET", "/registry/subjects/{subject}/versions/{version}/schema", "/registry/subjects/" + tax + "/versions/3/schema", nil, 404},
		{"GET", "/registry/subjects/{subject}/versions/{version}/schema", "/registry/subjects/" + tax + "/versions/x/schema", nil, 422},
		{"GET", "/registry/schemas/ids/{id}", "/registry/schemas/ids/3", nil, 200},
		{"GET", "/registry/schemas/ids/{id}", "/registry/schemas/ids/999", nil, 404},
		{"GET", "/registry/schemas/ids/{id}", "/registry/schemas/ids/x", nil, 404},
		{"GET", "/registry/schemas/ids/{id}/schema", "/registry/schemas/ids/1/schema", nil, 200},
		{"GET", "/registry/schemas/ids/{id}/schema", "/registry/schemas/ids/999/schema", nil, 404},
		{"GET", "/registry/schemas/types", "/registry/schemas/types", nil, 200},
		{"GET", "/registry/config", "/registry/config", nil, 200},
		{"GET", "/registry/config/{subject}", "/registry/config/" + tax, nil, 200},
		{"GET", "/registry/config/{subject}", "/registry/config/nope", nil, 404},
	} {
		t.Run(tc.method+" "+tc.path+" "+strconv.Itoa(tc.status), func(t *testing.T) {
			resp, body := registryCall(t, srv, tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			schema := compileResponse(t, tc.op, tc.method, tc.status, resp.Header.Get("Content-Type"))
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("not JSON: %s", body)
			}
			if err := schema.Validate(v); err != nil {
				t.Fatalf("%s does not match the document: %v", strings.TrimSpace(string(body)), err)
			}
			given[tc.method+" "+tc.op+" "+strconv.Itoa(tc.status)] = true
		})
	}
	for path, ops := range doc.Paths {
		if !strings.HasPrefix(path, "/registry/") {
			continue
		}
		for method, op := range ops {
			for _, status := range slices.Sorted(maps.Keys(op.Responses)) {
				if key := strings.ToUpper(method) + " " + path + " " + status; !given[key] {
					t.Errorf("%s: documented, never given by this test", key)
				}
			}
		}
	}

	// The router's own refusals are Confluent's errors too.
	errSchema := compile(t, "RegistryError")
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/registry/nope", 404, ""},
		{"GET", "/registry/", 404, ""},
		{"POST", "/registry/subjects/" + tax + "/versions", 405, "GET, HEAD"},
		{"DELETE", "/registry/subjects/" + tax, 405, "POST"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := registryCall(t, srv, tc.method, tc.path, registered)
			if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow {
				t.Fatalf("%d (Allow %q) %s, want %d (Allow %q)", resp.StatusCode, resp.Header.Get("Allow"), body, tc.status, tc.allow)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.schemaregistry.v1+json" {
				t.Errorf("Content-Type %q", ct)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("not JSON: %s", body)
			}
			if err := errSchema.Validate(v); err != nil {
				t.Fatalf("%s is not a RegistryError: %v", strings.TrimSpace(string(body)), err)
			}
		})
	}
}

// registryCall sends a request as a schema-registry client does.
func registryCall(t *testing.T, srv *httptest.Server, method, path string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return rawCall(t, srv, method, path, body, http.Header{"Content-Type": {"application/vnd.schemaregistry.v1+json"}})
}

// rawCall sends one request and returns the whole answer.
func rawCall(t *testing.T, srv *httptest.Server, method, path string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	maps.Copy(req.Header, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// The document names the registry's domains where a value is a domain, and
// has no placeholder left.
func TestOpenAPIListsTheRegistrysDomains(t *testing.T) {
	if bytes.Contains(gateway.OpenAPI, []byte("domain registry's names")) {
		t.Fatal("the domains' placeholder is still in the document")
	}
	var doc struct {
		Components struct {
			Schemas struct {
				Provenance struct {
					Properties struct {
						Domain struct {
							Enum []string `json:"enum"`
						} `json:"domain"`
					} `json:"properties"`
				} `json:"Provenance"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(gateway.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Schemas.Provenance.Properties.Domain.Enum; !slices.Equal(got, domains.Names()) {
		t.Fatalf("provenance domains %v, want %v", got, domains.Names())
	}
}
