package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// Citizens serves the unified citizen view.
type Citizens struct {
	Log      *slog.Logger
	Auth     *trust.Authenticator
	Rules    *policy.RuleSet
	Index    *view.Index
	Pseudo   *pseudo.Pseudonymizer
	Consents ConsentLookup
	Audit    Auditor
	Usage    *Usage
	Now      func() time.Time
}

// Auditor makes a decision durable before its answer leaves: an
// *audit.Log. An error means nothing may be released.
type Auditor interface {
	Append(ctx context.Context, ev audit.Event) error
}

// ConsentLookup finds the consent in force for (citizen, requester,
// purpose) and the uses already made of it in its period.
type ConsentLookup interface {
	Lookup(citizen, requester, purpose string) (*policy.Consent, int)
	Use(consentID string)
}

// Provenance says where a released value comes from.
type Provenance struct {
	Domain    string    `json:"domain"`
	RecordID  string    `json:"record_id"`
	Source    string    `json:"source"`
	KeyID     string    `json:"key_id"`
	EventTime time.Time `json:"event_time"`
}

// Released is one granted field with its value and provenance.
type Released struct {
	Value      any        `json:"value"`
	Provenance Provenance `json:"provenance"`
}

// ViewResponse is the body of a view answer.
type ViewResponse struct {
	RequestID      string              `json:"request_id"`
	Purpose        string              `json:"purpose"`
	Decision       string              `json:"decision"`
	Rule           string              `json:"rule"`
	PolicyVersion  string              `json:"policy_version"`
	LegalBasis     string              `json:"legal_basis"`
	LegalReference string              `json:"legal_reference"`
	Fields         map[string]Released `json:"fields"`
	Withheld       map[string]string   `json:"withheld"`
}

// Reasons a granted field is still withheld at assembly.
const (
	WithheldNoRecord = "no-record"
	WithheldTooOld   = "too-old"
)

func requestID() string { return audit.NewID(time.Now()) }

// Routes mounts the citizen endpoints on mux.
func (c *Citizens) Routes(mux *http.ServeMux) {
	mux.Handle("GET /v1/citizens/{nir}/view", authenticated(c.Auth, http.HandlerFunc(c.view)))
}

func (c *Citizens) view(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m := caller(r)
	now := c.Now()
	id := requestID()
	if !m.Has(trust.RoleReader) {
		writeProblem(w, http.StatusForbidden, "role-missing", "The reader role is required", "")
		return
	}
	nir := r.PathValue("nir")
	if err := pseudo.ValidateNIR(nir); err != nil {
		writeProblem(w, http.StatusBadRequest, "nir-malformed", "The NIR is not valid", err.Error())
		return
	}
	q := r.URL.Query()
	purpose := q.Get("purpose")
	if _, ok := c.Rules.Purpose(purpose); !ok {
		writeProblem(w, http.StatusBadRequest, policy.CodeUnknownPurpose, "Unknown purpose", "see /v1/rules for the register")
		return
	}
	fields, err := policy.ParseFields(strings.Split(q.Get("fields"), ","))
	if err != nil || q.Get("fields") == "" {
		writeProblem(w, http.StatusBadRequest, "field-unknown", "Unknown or missing field", errString(err))
		return
	}
	auditIDs, err := c.Pseudo.Audit(ctx, []string{nir})
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "keys-unavailable", "Pseudonym keys unavailable", "")
		return
	}
	citizen := auditIDs[0]
	recent, err := c.Usage.Count(m.ID, purpose, citizen, now)
	switch {
	case errors.Is(err, ErrUsageLagging):
		// Counting from a trail still replaying would let a requester past
		// its ceiling: fail closed, as for consents.
		w.Header().Set("Retry-After", "2")
		writeProblem(w, http.StatusServiceUnavailable, "usage-state-lagging", "Past accesses not read yet", "")
		return
	case err != nil:
		writeIndexFailed(w, err)
		return
	}
	req := policy.Request{Requester: m.ID, Purpose: purpose, Fields: fields, Time: now, RecentAccesses: recent}
	var consentID string
	if rd, ok := c.Consents.(interface{ Ready() error }); ok && rd.Ready() != nil {
		// Deciding on a consent state that lags could release what a
		// citizen has just revoked: fail closed.
		writeProblem(w, http.StatusServiceUnavailable, "consent-state-lagging", "Consent state not caught up", "")
		return
	}
	if c.Consents != nil {
		if cons, uses := c.Consents.Lookup(citizen, m.ID, purpose); cons != nil {
			req.Consent, req.ConsentUses, consentID = cons, uses, cons.ID
		}
	}
	var d policy.Decision
	c.Rules.Decide(&req, &d)
	ev := audit.Event{ID: id, Time: now, Kind: "view", Requester: m.ID, KeyID: m.KeyID, Purpose: purpose,
		Citizen: citizen, Decision: d.Outcome.String(), Code: d.Code, PolicyVersion: d.PolicyVersion}
	if d.Rule != nil {
		ev.Rule, ev.LegalBasis = d.Rule.ID, d.Rule.LegalBasis
	}
	if d.Outcome == policy.Deny {
		ev.Withheld = fields.Names()
		slices.Sort(ev.Withheld)
		if err := c.Audit.Append(ctx, ev); err != nil {
			writeAuditDown(w)
			return
		}
		writeProblem(w, http.StatusForbidden, d.Code, "Access refused by the policy", "request "+id)
		return
	}

	resp := ViewResponse{RequestID: id, Purpose: purpose, Decision: d.Outcome.String(), Rule: d.Rule.ID,
		PolicyVersion: d.PolicyVersion, LegalBasis: d.Rule.LegalBasis, LegalReference: d.Rule.LegalReference,
		Fields: map[string]Released{}, Withheld: map[string]string{}}
	for _, f := range d.WithheldSet().Fields() {
		resp.Withheld[f.String()] = d.Withheld(f)
	}
	p, _ := c.Rules.Purpose(purpose)
	if err := c.assemble(ctx, nir, d.Granted, p, now, &resp); err != nil {
		c.Log.Error("view assembly failed", "request_id", id, "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "view-unavailable", "The view could not be read", "request "+id)
		return
	}
	for name := range resp.Fields {
		ev.Released = append(ev.Released, name)
	}
	for name := range resp.Withheld {
		ev.Withheld = append(ev.Withheld, name)
	}
	slices.Sort(ev.Released)
	slices.Sort(ev.Withheld)
	// The trace is durable before anything is released.
	if err := c.Audit.Append(ctx, ev); err != nil {
		writeAuditDown(w)
		return
	}
	c.Usage.Add(m.ID, purpose, citizen, now, id)
	if consentID != "" {
		c.Consents.Use(consentID)
	}
	writeJSON(w, http.StatusOK, resp)
}

// auditPseudonym validates a NIR and returns its audit pseudonym, or
// answers the problem and returns false.
func auditPseudonym(w http.ResponseWriter, r *http.Request, p *pseudo.Pseudonymizer, nir string) (string, bool) {
	if err := pseudo.ValidateNIR(nir); err != nil {
		writeProblem(w, http.StatusBadRequest, "nir-malformed", "The NIR is not valid", err.Error())
		return "", false
	}
	ids, err := p.Audit(r.Context(), []string{nir})
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "keys-unavailable", "Pseudonym keys unavailable", "")
		return "", false
	}
	return ids[0], true
}

// assemble reads the granted fields from the view, domain by domain.
func (c *Citizens) assemble(ctx context.Context, nir string, granted policy.FieldSet, p *policy.Purpose, now time.Time, resp *ViewResponse) error {
	byDomain := map[string][]policy.Field{}
	for _, f := range granted.Fields() {
		byDomain[f.Domain()] = append(byDomain[f.Domain()], f)
	}
	for domain, fs := range byDomain {
		subjects, err := c.Pseudo.Domain(ctx, domain, []string{nir})
		if err != nil {
			return err
		}
		rec, ok, err := c.Index.Lookup(domain, subjects[0])
		if err != nil {
			return err
		}
		for _, f := range fs {
			switch {
			case !ok:
				resp.Withheld[f.String()] = WithheldNoRecord
			// "How far back" bounds records of events and periods (a tax
			// year, a payment); a person's civil status, coverage or
			// employment is their present state, however old its start.
			case p.MaxAge > 0 && periodDomains[domain] && rec.Meta.EventTime.Before(now.Add(-p.MaxAge)):
				resp.Withheld[f.String()] = WithheldTooOld
			default:
				v, _ := view.Field(rec, f.String())
				resp.Fields[f.String()] = Released{Value: v, Provenance: Provenance{Domain: domain,
					RecordID: rec.Meta.RecordID, Source: rec.Meta.Source, KeyID: rec.KeyID, EventTime: rec.Meta.EventTime}}
			}
		}
	}
	return nil
}

// periodDomains hold records of a period or an event, which age; the others
// hold a present state.
var periodDomains = map[string]bool{"tax": true, "finance": true}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
