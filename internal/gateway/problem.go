package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/passerelle-bus/passerelle/internal/citizenview"
)

// Problem is an RFC 9457 problem document. Code is stable: clients branch
// on it, never on Title or Detail.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
	// Extension members (RFC 9457, 3.2) that say what to do about it:
	// the request parameter at fault, the ceiling reached and when it
	// lets the next access through, the consent's state and uses left.
	Parameter string                    `json:"parameter,omitempty"`
	Ceiling   *citizenview.CeilingState `json:"ceiling,omitempty"`
	Consent   *citizenview.ConsentState `json:"consent,omitempty"`
}

// problemBase prefixes every problem type; the page there explains the code.
const problemBase = "https://passerelle.invalid/problems/"

// writeAuditDown answers a request whose audit event could not be made
// durable: 503 and nothing else. The audit log has logged why.
func writeAuditDown(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	writeProblem(w, http.StatusServiceUnavailable, citizenview.CodeAuditUnavailable, "The access could not be recorded, so nothing is released", "")
}

// writeIndexFailed: the gateway's audit index could not answer, or no
// longer holds what its tree does (audit.ErrIndex).
func writeIndexFailed(w http.ResponseWriter, err error) {
	writeProblem(w, http.StatusInternalServerError, citizenview.CodeIndexFailed, "The audit index could not be read", err.Error())
}

// routerProblem answers a request no route takes: a path the API does not
// have (404), or a method its path does not take (405, with the Allow
// header the router set).
func routerProblem(w http.ResponseWriter, status int) {
	if status == http.StatusMethodNotAllowed {
		writeProblem(w, status, "method-not-allowed", "Method not allowed", "the Allow header lists the methods this path takes")
		return
	}
	writeProblem(w, http.StatusNotFound, "not-found", "Not found", "/openapi.json describes the API's paths")
}

func writeProblem(w http.ResponseWriter, status int, code, title, detail string) {
	writeProblemDoc(w, Problem{Title: title, Status: status, Code: code, Detail: detail})
}

// writeProblemDoc answers p, its type derived from its code.
func writeProblemDoc(w http.ResponseWriter, p Problem) {
	p.Type = problemBase + p.Code
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
