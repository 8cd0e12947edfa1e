package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// Citizens serves the unified citizen view: the request in, the answer of
// the citizen view's service out.
type Citizens struct {
	Guard   *Guard
	Service *citizenview.Service
}

// Routes mounts the citizen endpoints on mux.
func (c *Citizens) Routes(mux *http.ServeMux) {
	mux.Handle("GET /v1/citizens/{nir}/view", c.Guard.protect(trust.RoleReader, c.view))
}

func (c *Citizens) view(w http.ResponseWriter, r *http.Request) {
	now := c.Guard.Now()
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		c.Guard.reject(w, r, http.StatusBadRequest, "query-malformed", "Malformed query", err.Error())
		return
	}
	req := requestOf(r)
	resp, err := c.Service.View(r.Context(), citizenview.Request{
		Requester: req.caller.ID, From: req.from, Route: r.Pattern,
		Token: citizenview.Token{ID: req.caller.TokenID, KeyID: req.caller.KeyID, Expiry: req.caller.Expiry},
		NIR:   r.PathValue("nir"), Purpose: q.Get("purpose"), Fields: strings.Split(q.Get("fields"), ","), Time: now,
	})
	if err != nil {
		viewProblem(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// viewProblems title the problems a view answers for its form
// or for what it lacks, by code; detail, when set, replaces the
// service's.
var viewProblems = map[string]struct{ title, detail string }{
	citizenview.CodeNIRMalformed:    {"The NIR is not valid", ""},
	citizenview.CodeUnknownPurpose:  {"Unknown or missing purpose", ""},
	citizenview.CodeFieldUnknown:    {"Unknown or missing field", ""},
	citizenview.CodeKeysUnavailable: {"Pseudonym keys unavailable", ""},
	citizenview.CodeViewLagging:     {"The view is still being built from the log", ""},
	citizenview.CodeConsentLagging:  {"Consent state not caught up", ""},
	citizenview.CodeUsageLagging:    {"Past accesses not read yet", ""},
	citizenview.CodeViewUnavailable: {"The view could not be read", ""},
}

// viewProblem answers a view's error by its kind: 400 for its form, 403
// for the policy's refusal, the log's void as the guard answers it, 503
// (with Retry-After when the service says when) for what is missing, 500
// for the audit index.
func viewProblem(w http.ResponseWriter, err error) {
	var e *citizenview.Error
	if !errors.As(err, &e) {
		// View returns only *Error; were it not one, nothing is released.
		e = &citizenview.Error{Kind: citizenview.ErrUnavailable, Code: citizenview.CodeViewUnavailable, Err: err}
	}
	status := http.StatusServiceUnavailable
	switch {
	case errors.Is(e.Kind, citizenview.ErrSettled):
		answerVoid(w, e.Code)
		return
	case errors.Is(e.Kind, citizenview.ErrRefused):
		writeProblemDoc(w, Problem{Status: http.StatusForbidden, Code: e.Code, Title: "Access refused by the policy",
			Detail: e.Detail, Ceiling: e.Ceiling, Consent: e.Consent})
		return
	case errors.Is(e.Kind, citizenview.ErrIndexFailed):
		writeIndexFailed(w, e.Err)
		return
	case e.Code == citizenview.CodeAuditUnavailable:
		writeAuditDown(w)
		return
	case errors.Is(e.Kind, citizenview.ErrInvalid):
		status = http.StatusBadRequest
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter/time.Second)))
	}
	t := viewProblems[e.Code]
	detail := e.Detail
	if t.detail != "" {
		detail = t.detail
	}
	writeProblemDoc(w, Problem{Status: status, Code: e.Code, Title: t.title, Detail: detail, Parameter: e.Parameter})
}

// auditPseudonym validates a NIR and returns its audit pseudonym, or
// answers the problem (a malformed NIR audited as a refusal) and returns
// false.
func auditPseudonym(w http.ResponseWriter, r *http.Request, g *Guard, p *pseudo.Pseudonymizer, nir string) (string, bool) {
	if err := pseudo.ValidateNIR(nir); err != nil {
		g.reject(w, r, http.StatusBadRequest, citizenview.CodeNIRMalformed, "The NIR is not valid", err.Error())
		return "", false
	}
	ids, err := p.Audit(r.Context(), []string{nir})
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, citizenview.CodeKeysUnavailable, "Pseudonym keys unavailable", "")
		return "", false
	}
	return ids[0], true
}
