package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/consent"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/policy"
)

// Consents serves the consent API to the citizens' portals (members with
// the consent-collector role), on the citizen's behalf.
type Consents struct {
	Journal *consent.Journal
	Rules   *policy.RuleSet
	Pseudo  *pseudo.Pseudonymizer
	Auth    *trust.Authenticator
	Trust   *trust.Store
	Audit   *audit.Log
	Now     func() time.Time
}

// ConsentRequest is the body of POST /v1/consents.
type ConsentRequest struct {
	NIR           string    `json:"nir"`
	Requester     string    `json:"requester"`
	Purpose       string    `json:"purpose"`
	Fields        []string  `json:"fields"`
	Start         time.Time `json:"start"`
	Expiry        time.Time `json:"expiry"`
	Mode          string    `json:"mode"`
	MaxUses       int       `json:"max_uses"`
	PeriodSeconds int64     `json:"period_seconds"`
}

// Routes mounts the consent endpoints.
func (c *Consents) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/consents", authenticated(c.Auth, requireRole(trust.RoleConsentCollector, http.HandlerFunc(c.create))))
	mux.Handle("DELETE /v1/consents/{id}", authenticated(c.Auth, requireRole(trust.RoleConsentCollector, http.HandlerFunc(c.revoke))))
	mux.Handle("GET /v1/citizens/{nir}/consents", authenticated(c.Auth, requireRole(trust.RoleConsentCollector, http.HandlerFunc(c.list))))
}

func (c *Consents) create(w http.ResponseWriter, r *http.Request) {
	var req ConsentRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeProblem(w, http.StatusBadRequest, "consent-malformed", "The consent is not valid JSON", err.Error())
		return
	}
	if err := pseudo.ValidateNIR(req.NIR); err != nil {
		writeProblem(w, http.StatusBadRequest, "nir-malformed", "The NIR is not valid", err.Error())
		return
	}
	if _, ok := c.Rules.Purpose(req.Purpose); !ok {
		writeProblem(w, http.StatusBadRequest, policy.CodeUnknownPurpose, "Unknown purpose", "")
		return
	}
	if _, err := c.Trust.Current().Member(req.Requester); err != nil {
		writeProblem(w, http.StatusBadRequest, "requester-unknown", "Unknown requester", "")
		return
	}
	mode := req.Mode
	if mode == "" {
		mode = policy.ModeOneTime
	}
	cons := policy.Consent{Requester: req.Requester, Purpose: req.Purpose, Fields: req.Fields, Start: req.Start,
		Expiry: req.Expiry, Mode: mode, MaxUses: req.MaxUses, Period: time.Duration(req.PeriodSeconds) * time.Second,
		Status: policy.ConsentActive}
	if mode == policy.ModeOneTime {
		cons.MaxUses = 1
	}
	switch {
	case cons.Prepare() != nil || len(req.Fields) == 0:
		writeProblem(w, http.StatusBadRequest, "field-unknown", "Unknown or missing field", "")
		return
	case !cons.Expiry.After(cons.Start):
		writeProblem(w, http.StatusBadRequest, "consent-malformed", "expiry must be after start", "")
		return
	case mode != policy.ModeOneTime && mode != policy.ModePeriodic:
		writeProblem(w, http.StatusBadRequest, "consent-malformed", "mode must be one-time or periodic", "")
		return
	case mode == policy.ModePeriodic && (cons.MaxUses <= 0 || cons.Period <= 0):
		writeProblem(w, http.StatusBadRequest, "consent-malformed", "a periodic consent needs max_uses and period_seconds", "")
		return
	}
	ids, err := c.Pseudo.Audit(r.Context(), []string{req.NIR})
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "keys-unavailable", "Pseudonym keys unavailable", "")
		return
	}
	cons.Citizen, cons.ID = ids[0], newConsentID()
	if !c.record(w, r, cons, "consent-given") {
		return
	}
	writeJSON(w, http.StatusCreated, cons)
}

func (c *Consents) revoke(w http.ResponseWriter, r *http.Request) {
	cur, ok := c.Journal.Store().Get(r.PathValue("id"))
	if !ok {
		writeProblem(w, http.StatusNotFound, "consent-unknown", "No such consent", "")
		return
	}
	cons := *cur
	cons.Status = policy.ConsentRevoked
	if c.record(w, r, cons, "consent-revoked") {
		w.WriteHeader(http.StatusNoContent)
	}
}

// record audits then journals a consent change; the change is in force
// for every later request once it returns true.
func (c *Consents) record(w http.ResponseWriter, r *http.Request, cons policy.Consent, what string) bool {
	now := c.Now()
	ev := audit.Event{ID: requestID(), Time: now, Kind: "consent", Requester: caller(r).ID, KeyID: caller(r).KeyID,
		Purpose: cons.Purpose, Citizen: cons.Citizen, Decision: what, Released: cons.Fields}
	if err := c.Audit.Append(r.Context(), ev); err != nil {
		writeAuditDown(w)
		return false
	}
	if err := c.Journal.Record(r.Context(), consent.Event{Consent: cons, By: caller(r).ID, Time: now}); err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "consent-unavailable", "The consent could not be recorded", "")
		return false
	}
	return true
}

func (c *Consents) list(w http.ResponseWriter, r *http.Request) {
	citizen, ok := auditPseudonym(w, r, c.Pseudo, r.PathValue("nir"))
	if !ok {
		return
	}
	list := c.Journal.Store().ForCitizen(citizen)
	if list == nil {
		list = []*policy.Consent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"consents": list})
}

func newConsentID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "cst-" + hex.EncodeToString(b)
}
