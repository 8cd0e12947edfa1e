package httpmux_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/httpmux"
)

func TestFallback(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound) // a route's own 404 is its own
		fmt.Fprint(w, "route a")
	})
	mux.HandleFunc("DELETE /a", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("/tree/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "tree") })
	answer := func(w http.ResponseWriter, status int) {
		w.Header().Set("Content-Type", "application/x-test")
		w.WriteHeader(status)
		fmt.Fprintf(w, "answered %d", status)
	}
	h := httpmux.Fallback(mux, answer)

	for _, tc := range []struct {
		name, method, target string
		status               int
		allow                string // a 405's Allow header
	}{
		{"no pattern matches", "GET", "/nope", 404, ""},
		{"no subtree matches", "GET", "/nope/leaf", 404, ""},
		{"another method matches", "POST", "/a", 405, "DELETE, GET, HEAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.target, nil))
			want := fmt.Sprintf("answered %d", tc.status)
			if w.Code != tc.status || w.Body.String() != want {
				t.Fatalf("%d %q, want %d %q", w.Code, w.Body, tc.status, want)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/x-test" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if got := w.Header().Values("X-Content-Type-Options"); got != nil {
				t.Errorf("X-Content-Type-Options %q left from the text answer", got)
			}
		})
	}

	// Whatever else mux answers, it answers unchanged.
	for _, tc := range []struct{ name, method, target string }{
		{"a route", "GET", "/a"},
		{"a route by HEAD", "HEAD", "/a"},
		{"a subtree", "GET", "/tree/leaf"},
		{"the subtree's redirect", "GET", "/tree"},
		{"a redirect to a cleaned path that matches", "GET", "/x/../a"},
		{"a redirect to a cleaned path that does not", "GET", "/x/../nope"},
		{"the asterisk", "OPTIONS", "*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, got := httptest.NewRecorder(), httptest.NewRecorder()
			mux.ServeHTTP(want, httptest.NewRequest(tc.method, tc.target, nil))
			h.ServeHTTP(got, httptest.NewRequest(tc.method, tc.target, nil))
			if got.Code != want.Code || got.Body.String() != want.Body.String() || !reflect.DeepEqual(got.Header(), want.Header()) {
				t.Fatalf("got %d %v %q, mux answers %d %v %q", got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
			}
		})
	}
}
