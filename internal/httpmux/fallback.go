// Package httpmux lets an API answer its router's own refusals in its own
// error format.
package httpmux

import "net/http"

// Fallback serves mux, except that the answers mux gives itself when no
// pattern matches a request (net/http's text/plain "404 page not found"
// and "Method Not Allowed") are given by answer instead: with status
// http.StatusNotFound for a path no pattern matches, and
// http.StatusMethodNotAllowed for a path some pattern matches under
// another method, the Allow header then already set as ServeMux computes
// it. Every other answer, the redirects mux gives to clean a path or add a
// trailing slash included, is mux's unchanged.
func Fallback(mux *http.ServeMux, answer func(w http.ResponseWriter, status int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux reports its own answers by an empty pattern: its
		// NotFound handler, its 405 handler, and the redirect to a
		// cleaned path that no pattern matches. "*" is answered 400
		// before any lookup.
		h, pattern := mux.Handler(r)
		if pattern != "" || r.RequestURI == "*" {
			mux.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&fallbackWriter{ResponseWriter: w, answer: answer}, r)
	})
}

// fallbackWriter lets a 404 or 405 of ServeMux's own handlers be answered
// by answer, and their text dropped; any other status goes through.
type fallbackWriter struct {
	http.ResponseWriter
	answer   func(w http.ResponseWriter, status int)
	answered bool
}

func (f *fallbackWriter) WriteHeader(status int) {
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		f.ResponseWriter.WriteHeader(status)
		return
	}
	f.answered = true
	// Set by http.Error for its text; answer sets its own type.
	f.Header().Del("X-Content-Type-Options")
	f.answer(f.ResponseWriter, status)
}

func (f *fallbackWriter) Write(b []byte) (int, error) {
	if f.answered {
		return len(b), nil
	}
	return f.ResponseWriter.Write(b)
}
