package gateway_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/passerelle-bus/passerelle/internal/gateway"
)

// compile returns a validator for one component schema of the OpenAPI
// document (OpenAPI 3.1 schemas are JSON Schema 2020-12).
func compile(t *testing.T, name string) *jsonschema.Schema {
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
	s, err := c.Compile("openapi.json#/components/schemas/" + name)
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
