package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	Guard   *Guard
	Journal *consent.Journal
	Rules   *policy.RuleSet
	Pseudo  *pseudo.Pseudonymizer
	Trust   *trust.Store
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
	mux.Handle("POST /v1/consents", c.Guard.protect(trust.RoleConsentCollector, c.create))
	mux.Handle("DELETE /v1/consents/{id}", c.Guard.protect(trust.RoleConsentCollector, c.revoke))
	mux.Handle("GET /v1/citizens/{nir}/consents", c.Guard.protect(trust.RoleConsentCollector, c.list))
}

func (c *Consents) create(w http.ResponseWriter, r *http.Request) {
	g := c.Guard
	var req ConsentRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		g.reject(w, r, http.StatusBadRequest, "consent-malformed", "The consent is not valid JSON", err.Error())
		return
	}
	if err := pseudo.ValidateNIR(req.NIR); err != nil {
		g.reject(w, r, http.StatusBadRequest, "nir-malformed", "The NIR is not valid", err.Error())
		return
	}
	if _, ok := c.Rules.Purpose(req.Purpose); !ok {
		g.reject(w, r, http.StatusBadRequest, policy.CodeUnknownPurpose, "Unknown purpose", "see /v1/rules for the register")
		return
	}
	if _, err := c.Trust.Current().Member(req.Requester); err != nil {
		g.reject(w, r, http.StatusBadRequest, "requester-unknown", "Unknown requester", "see /v1/members")
		return
	}
	mode := req.Mode
	if mode == "" {
		mode = policy.ModeOneTime
	}
	cons := policy.Consent{Requester: req.Requester, Purpose: req.Purpose, Fields: req.Fields, Start: req.Start,
		Expiry: req.Expiry, Mode: mode, MaxUses: req.MaxUses, Status: policy.ConsentActive, Version: 1}
	if mode == policy.ModeOneTime {
		cons.MaxUses = 1
	}
	maxPeriod := int64(policy.MaxPeriod / time.Second)
	if req.PeriodSeconds > 0 && req.PeriodSeconds <= maxPeriod {
		cons.Period = time.Duration(req.PeriodSeconds) * time.Second
	}
	bad := func(detail string) {
		g.reject(w, r, http.StatusBadRequest, "consent-malformed", "The consent is not valid", detail)
	}
	switch {
	case len(req.Fields) == 0:
		g.reject(w, r, http.StatusBadRequest, "field-unknown", "Missing field", "fields: required: the fields the citizen agrees to release, e.g. [\"health.*\"]")
	case cons.Prepare() != nil:
		g.reject(w, r, http.StatusBadRequest, "field-unknown", "Unknown field", "fields: "+cons.Prepare().Error()+" (GET /v1/rules lists them)")
	case !c.Rules.ConsentUsable(cons.Requester, cons.Purpose, cons.FieldSet()):
		// A consent no rule could use would sit on the citizen's list
		// looking like a permission that changes nothing.
		g.reject(w, r, http.StatusBadRequest, "consent-unusable", "No rule would ever use this consent",
			fmt.Sprintf("no rule lets %s release any of %v for %s with the citizen's consent (GET /v1/rules: each rule's releases say which fields need it)",
				cons.Requester, req.Fields, cons.Purpose))
	case !cons.Expiry.After(cons.Start):
		bad("expiry must be after start")
	case mode != policy.ModeOneTime && mode != policy.ModePeriodic:
		bad("mode must be one-time or periodic")
	case mode == policy.ModePeriodic && (cons.MaxUses <= 0 || req.PeriodSeconds <= 0):
		bad("a periodic consent needs max_uses and period_seconds")
	case req.PeriodSeconds < 0 || req.PeriodSeconds > maxPeriod:
		bad(fmt.Sprintf("period_seconds must be between 1 and %d (ten years)", maxPeriod))
	case mode == policy.ModeOneTime && req.PeriodSeconds != 0:
		bad("a one-time consent has no period")
	default:
		ids, err := c.Pseudo.Audit(r.Context(), []string{req.NIR})
		if err != nil {
			writeProblem(w, http.StatusServiceUnavailable, "keys-unavailable", "Pseudonym keys unavailable", "")
			return
		}
		cons.Citizen, cons.ID = ids[0], newConsentID()
		if c.record(w, r, cons, "consent-given") {
			writeJSON(w, http.StatusCreated, cons)
		}
	}
}

func (c *Consents) revoke(w http.ResponseWriter, r *http.Request) {
	cur, ok := c.Journal.Store().Get(r.PathValue("id"))
	if !ok {
		c.Guard.reject(w, r, http.StatusNotFound, "consent-unknown", "No such consent", "")
		return
	}
	cons := *cur
	cons.Status, cons.Version = policy.ConsentRevoked, cur.Version+1
	if c.record(w, r, cons, "consent-revoked") {
		w.WriteHeader(http.StatusNoContent)
	}
}

// record audits then journals a consent change; the change is in force
// for every later request once it returns true. If the journal cannot
// take it after the audit event was written, the event is voided: the
// log then says that nothing changed.
func (c *Consents) record(w http.ResponseWriter, r *http.Request, cons policy.Consent, what string) bool {
	now := c.Guard.Now()
	ev := audit.Event{ID: requestID(), Time: now, Kind: audit.KindConsent, Requester: caller(r).ID,
		Purpose: cons.Purpose, Citizen: cons.Citizen, Decision: what, Released: cons.Fields}
	if !c.Guard.settle(w, r, ev) {
		return false
	}
	err := c.Journal.Record(r.Context(), consent.Event{Consent: cons, By: caller(r).ID, Time: now})
	if err != nil {
		c.Guard.Audit.Void(ev, "consent-unavailable")
		if errors.Is(err, consent.ErrConflict) {
			writeProblem(w, http.StatusConflict, "consent-conflict", "The consent was changed by another request at the same time", "read it again")
			return false
		}
		writeProblem(w, http.StatusServiceUnavailable, "consent-unavailable", "The consent could not be recorded", "")
		return false
	}
	return true
}

// list answers a citizen's consents, once the reading is audited.
func (c *Consents) list(w http.ResponseWriter, r *http.Request) {
	citizen, ok := auditPseudonym(w, r, c.Guard, c.Pseudo, r.PathValue("nir"))
	if !ok {
		return
	}
	ev := audit.Event{ID: requestID(), Time: c.Guard.Now(), Kind: audit.KindConsentList, Requester: caller(r).ID,
		Citizen: citizen, Decision: "allow"}
	if !c.Guard.settle(w, r, ev) {
		return
	}
	list := c.Journal.Store().ForCitizen(citizen)
	out := make([]map[string]any, 0, len(list))
	now := c.Guard.Now()
	for _, cons := range list {
		item, err := c.state(cons, now)
		if err != nil {
			writeIndexFailed(w, err)
			return
		}
		out = append(out, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{"consents": out})
}

// state is a consent as its citizen's portal shows it: as given, with the
// uses the log counts (in its period, for a periodic one), the uses left,
// and its state now (EXHAUSTED, EXPIRED or PENDING when use or time has
// changed what it allows).
func (c *Consents) state(cons *policy.Consent, now time.Time) (map[string]any, error) {
	var since time.Time
	if cons.Mode == policy.ModePeriodic && cons.Period > 0 {
		since = now.Add(-cons.Period)
	}
	uses, err := c.Guard.Trail.ConsentUses(cons.Citizen, cons.ID, since)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(cons)
	if err != nil {
		return nil, err
	}
	var item map[string]any
	if err := json.Unmarshal(b, &item); err != nil {
		return nil, err
	}
	item["uses"], item["uses_left"], item["state"] = uses, max(cons.MaxUses-uses, 0), cons.StateAt(now, uses)
	return item, nil
}

func newConsentID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "cst-" + hex.EncodeToString(b)
}
