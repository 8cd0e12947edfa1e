package schemas_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domains"
)

func TestRegistryAPI(t *testing.T) {
	cat := catalog(t)
	srv := httptest.NewServer(cat.Handler())
	defer srv.Close()
	tax, _ := cat.Subject("passerelle.tax.household.v1-value")
	v2 := tax.Versions[1]
	schemaJSON, _ := json.Marshal(v2.Text)
	var subjects []string // every domain's, in registry order
	for _, d := range domains.All() {
		subjects = append(subjects, d.Subject())
	}
	subjectsJSON, _ := json.Marshal(subjects)

	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string // exact JSON, compared after normalising
	}{
		{"GET", "/subjects", "", 200, string(subjectsJSON)},
		{"GET", "/subjects/passerelle.tax.household.v1-value/versions", "", 200, `[1,2]`},
		{"GET", "/subjects/passerelle.tax.household.v1-value/versions/latest", "", 200, `{"subject":"passerelle.tax.household.v1-value","version":2,"id":3,"schema":` + string(schemaJSON) + `}`},
		{"GET", "/subjects/passerelle.tax.household.v1-value/versions/2", "", 200, `{"subject":"passerelle.tax.household.v1-value","version":2,"id":3,"schema":` + string(schemaJSON) + `}`},
		{"GET", "/schemas/ids/3", "", 200, `{"schema":` + string(schemaJSON) + `}`},
		{"GET", "/config/passerelle.tax.household.v1-value", "", 200, `{"compatibilityLevel":"FULL_TRANSITIVE"}`},
		{"GET", "/schemas/types", "", 200, `["AVRO"]`},
		{"POST", "/subjects/passerelle.tax.household.v1-value", `{"schema":` + string(schemaJSON) + `}`, 200, `{"subject":"passerelle.tax.household.v1-value","version":2,"id":3,"schema":` + string(schemaJSON) + `}`},
		{"GET", "/subjects/nope/versions", "", 404, `{"error_code":40401,"message":"Subject 'nope' not found."}`},
		{"GET", "/subjects/passerelle.tax.household.v1-value/versions/9", "", 404, `{"error_code":40402,"message":"Version 9 not found."}`},
		{"GET", "/subjects/passerelle.tax.household.v1-value/versions/x", "", 422, `{"error_code":42202,"message":"The specified version 'x' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""}`},
		{"GET", "/schemas/ids/999", "", 404, `{"error_code":40403,"message":"Schema 999 not found"}`},
		{"POST", "/subjects/passerelle.tax.household.v1-value", `{"schema":"{\"type\":\"string\"}"}`, 404, `{"error_code":40403,"message":"Schema not found"}`},
		// The router's own answers, as Confluent's: an unknown path, a write.
		{"GET", "/nope", "", 404, `{"error_code":404,"message":"HTTP 404 Not Found"}`},
		{"POST", "/subjects/passerelle.tax.household.v1-value/versions", `{"schema":"{\"type\":\"string\"}"}`, 405, `{"error_code":405,"message":"HTTP 405 Method Not Allowed"}`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.schemaregistry.v1+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := resp.Header.Get("Allow"); tc.status == 405 && got != "GET, HEAD" {
				t.Errorf("Allow %q, want the methods of the path", got)
			}
			if norm(t, string(body)) != norm(t, tc.want) {
				t.Fatalf("body\n got %s\nwant %s", body, tc.want)
			}
		})
	}
}

func norm(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %s", s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
