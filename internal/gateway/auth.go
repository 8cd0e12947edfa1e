package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/passerelle-bus/passerelle/internal/trust"
)

type memberKey struct{}

// authenticated lets a request through only with a valid member token; a
// refusal is a 401 problem document with the token's refusal code, and
// the handler (hence the policy) never runs.
func authenticated(auth *trust.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			token = ""
		}
		c, err := auth.Caller([]byte(strings.TrimSpace(token)))
		if err != nil {
			code := trust.AuthMalformed
			var ae *trust.AuthError
			if errors.As(err, &ae) {
				code = ae.Code
			}
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeProblem(w, http.StatusUnauthorized, code, "Authentication refused", err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), memberKey{}, c)))
	})
}

// requireRole lets through only a caller holding role.
func requireRole(role string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !caller(r).Has(role) {
			writeProblem(w, http.StatusForbidden, "role-missing", "The "+role+" role is required", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// caller returns the authenticated member of a request and its key id.
func caller(r *http.Request) trust.Caller {
	c, _ := r.Context().Value(memberKey{}).(trust.Caller)
	return c
}
