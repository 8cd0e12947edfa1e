package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/gateway"
)

// publicGateway serves the routes that need no broker: health, the
// document, metrics and the schema registry.
func publicGateway(t *testing.T) *httptest.Server {
	t.Helper()
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.NewHandler(gateway.Options{Metrics: prometheus.NewRegistry(),
		Log: slog.New(slog.DiscardHandler), Schemas: cat}))
	t.Cleanup(srv.Close)
	return srv
}

// A request no route takes is answered a problem document, as every other
// refusal is: 404 for a path the API does not have, 405 for a method its
// path does not take, with the Allow header the router computes.
func TestRouterAnswersProblems(t *testing.T) {
	srv := publicGateway(t)
	problem := compile(t, "Problem")
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/nope", 404, "not-found", ""},
		{"GET", "/v1/citizens/1850775123456/nothing", 404, "not-found", ""},
		{"HEAD", "/nope", 404, "not-found", ""},
		{"POST", "/healthz", 405, "method-not-allowed", "GET, HEAD"},
		{"DELETE", "/openapi.json", 405, "method-not-allowed", "GET, HEAD"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q, want application/problem+json", ct)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if tc.method == "HEAD" {
				return
			}
			var p gateway.Problem
			if err := json.Unmarshal(body, &p); err != nil || p.Code != tc.code || p.Status != tc.status {
				t.Fatalf("%s, want code %s and status %d (%v)", body, tc.code, tc.status, err)
			}
			v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err := problem.Validate(v); err != nil {
				t.Fatalf("%s is not a Problem: %v", body, err)
			}
		})
	}
}
