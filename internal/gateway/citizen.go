package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// Citizens serves the unified citizen view.
type Citizens struct {
	Guard    *Guard
	Log      *slog.Logger
	Rules    *policy.RuleSet
	Index    *view.Index
	Pseudo   *pseudo.Pseudonymizer
	Consents ConsentLookup
	Limits   *Limits
}

// ConsentLookup finds the consent in force for (citizen, requester,
// purpose); Ready is nil once it has caught up with the consent topic.
type ConsentLookup interface {
	Lookup(citizen, requester, purpose string) *policy.Consent
	Ready() error
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
	// WithheldWithdrawn: the member that published the record has been
	// revoked (or its key), or no longer publishes the domain.
	WithheldWithdrawn = "publisher-revoked"
)

func requestID() string { return audit.NewID(time.Now()) }

// Routes mounts the citizen endpoints on mux.
func (c *Citizens) Routes(mux *http.ServeMux) {
	mux.Handle("GET /v1/citizens/{nir}/view", c.Guard.protect(trust.RoleReader, c.view))
}

func (c *Citizens) view(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m := caller(r)
	now := c.Guard.Now()
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		c.Guard.reject(w, r, http.StatusBadRequest, "query-malformed", "Malformed query", err.Error())
		return
	}
	nir := r.PathValue("nir")
	if err := pseudo.ValidateNIR(nir); err != nil {
		c.Guard.reject(w, r, http.StatusBadRequest, "nir-malformed", "The NIR is not valid", err.Error())
		return
	}
	purpose := q.Get("purpose")
	p, ok := c.Rules.Purpose(purpose)
	if !ok {
		c.Guard.reject(w, r, http.StatusBadRequest, policy.CodeUnknownPurpose, "Unknown purpose", "see /v1/rules for the register")
		return
	}
	fields, err := policy.ParseFields(strings.Split(q.Get("fields"), ","))
	if err != nil || q.Get("fields") == "" {
		c.Guard.reject(w, r, http.StatusBadRequest, "field-unknown", "Unknown or missing field", errString(err))
		return
	}
	auditIDs, err := c.Pseudo.Audit(ctx, []string{nir})
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "keys-unavailable", "Pseudonym keys unavailable", "")
		return
	}
	citizen := auditIDs[0]
	select {
	case <-c.Index.Ready():
	default:
		// An index still replaying would answer "no record" for what is
		// only not read yet.
		w.Header().Set("Retry-After", "5")
		writeProblem(w, http.StatusServiceUnavailable, "view-lagging", "The view is still being built from the log", "")
		return
	}
	if c.Consents.Ready() != nil {
		// Deciding on a consent state that lags could release what a
		// citizen has just revoked: fail closed.
		w.Header().Set("Retry-After", "2")
		writeProblem(w, http.StatusServiceUnavailable, "consent-state-lagging", "Consent state not caught up", "")
		return
	}

	req := policy.Request{Requester: m.ID, Purpose: purpose, Fields: fields, Time: now}
	var d policy.Decision
	ev := audit.Event{ID: requestID(), Time: now, Kind: audit.KindView, Requester: m.ID, Purpose: purpose, Citizen: citizen}
	hold, err := c.decide(citizen, p, &req, &d, &ev)
	if err != nil {
		if errors.Is(err, ErrUsageLagging) {
			w.Header().Set("Retry-After", "2")
			writeProblem(w, http.StatusServiceUnavailable, "usage-state-lagging", "Past accesses not read yet", "")
			return
		}
		writeIndexFailed(w, err)
		return
	}
	if d.Outcome == policy.Deny {
		ev.Withheld = fields.Names()
		slices.Sort(ev.Withheld)
		if void, err := c.Guard.record(r, ev); err != nil {
			writeAuditDown(w)
		} else if void != "" {
			answerVoid(w, void)
		} else {
			writeProblem(w, http.StatusForbidden, d.Code, "Access refused by the policy", denyDetail(ev.ID, d.Code, p))
		}
		return
	}

	resp := ViewResponse{RequestID: ev.ID, Purpose: purpose, Decision: d.Outcome.String(), Rule: d.Rule.ID,
		PolicyVersion: d.PolicyVersion, LegalBasis: d.Rule.LegalBasis, LegalReference: d.Rule.LegalReference,
		Fields: map[string]Released{}, Withheld: map[string]string{}}
	for _, f := range d.WithheldSet().Fields() {
		resp.Withheld[f.String()] = d.Withheld(f)
	}
	if err := c.assemble(ctx, nir, d.Granted, p, now, &resp); err != nil {
		hold.Release()
		c.Log.Error("view assembly failed", "decision_id", ev.ID, "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "view-unavailable", "The view could not be read", "request "+ev.ID)
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
	if len(ev.Released) == 0 {
		// Every granted field was withheld at assembly (no record, too
		// old): nothing leaves, so nothing is a use of a limit.
		ev.Ceiling, ev.Consent = nil, nil
		hold.Release()
		hold = nil
	}
	// The trace is durable, and the log has settled its claims, before
	// anything is released.
	void, rc, err := c.Guard.recordAt(r, ev)
	switch {
	case err != nil:
		hold.Release()
		writeAuditDown(w)
		return
	case void != "":
		hold.Written(rc.Offset)
		answerVoid(w, void)
		return
	}
	hold.Written(rc.Offset)
	writeJSON(w, http.StatusOK, resp)
}

// decide counts the uses already made of the purpose's ceiling and of the
// citizen's consent, decides, and holds the uses a release would make,
// under the citizen's lock: concurrent requests about a citizen count each
// other's holds. It fills in the event's decision and claims.
func (c *Citizens) decide(citizen string, p *policy.Purpose, req *policy.Request, d *policy.Decision, ev *audit.Event) (*Hold, error) {
	lk, err := c.Limits.Lock(citizen)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	trail := c.Limits.trail
	ceilingKey := CeilingKey(citizen, req.Requester, req.Purpose)
	if p.MaxPerCitizen > 0 && p.Window > 0 {
		since := req.Time.Add(-p.Window)
		req.RecentAccesses, err = lk.Count(ceilingKey, since, func() (int, error) {
			return trail.Uses(citizen, req.Requester, req.Purpose, since)
		})
		if err != nil {
			return nil, err
		}
	}
	if cons := c.Consents.Lookup(citizen, req.Requester, req.Purpose); cons != nil {
		var since time.Time
		if cons.Mode == policy.ModePeriodic && cons.Period > 0 {
			since = req.Time.Add(-cons.Period)
		}
		req.Consent = cons
		req.ConsentUses, err = lk.Count(ConsentKey(cons.ID), since, func() (int, error) {
			return trail.ConsentUses(citizen, cons.ID, since)
		})
		if err != nil {
			return nil, err
		}
	}
	c.Rules.Decide(req, d)
	ev.Decision, ev.Code, ev.PolicyVersion = d.Outcome.String(), d.Code, d.PolicyVersion
	if d.Rule != nil {
		ev.Rule, ev.LegalBasis = d.Rule.ID, d.Rule.LegalBasis
	}
	if d.Outcome == policy.Deny {
		return nil, nil
	}
	var keys []string
	if p.MaxPerCitizen > 0 && p.Window > 0 {
		ev.Ceiling = &audit.Ceiling{Max: p.MaxPerCitizen, WindowSeconds: int64(p.Window / time.Second)}
		keys = append(keys, ceilingKey)
	}
	if d.ConsentUsed {
		cons := req.Consent
		ev.Consent = &audit.ConsentClaim{ID: cons.ID, MaxUses: cons.MaxUses}
		if cons.Mode == policy.ModePeriodic {
			ev.Consent.PeriodSeconds = int64(cons.Period / time.Second)
		}
		keys = append(keys, ConsentKey(cons.ID))
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return lk.Hold(req.Time, keys...), nil
}

// denyDetail says what a refusal means for the requester: for a ceiling,
// which one and when the window lets the next access through.
func denyDetail(id, code string, p *policy.Purpose) string {
	if code == policy.CodeCeilingFrequency {
		return fmt.Sprintf("request %s: at most %d accesses per citizen within %s for %s", id, p.MaxPerCitizen, p.Window, p.ID)
	}
	return "request " + id
}

// auditPseudonym validates a NIR and returns its audit pseudonym, or
// answers the problem (a malformed NIR audited as a refusal) and returns
// false.
func auditPseudonym(w http.ResponseWriter, r *http.Request, g *Guard, p *pseudo.Pseudonymizer, nir string) (string, bool) {
	if err := pseudo.ValidateNIR(nir); err != nil {
		g.reject(w, r, http.StatusBadRequest, "nir-malformed", "The NIR is not valid", err.Error())
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
		withdrawn := errors.Is(err, view.ErrWithdrawn)
		if err != nil && !withdrawn {
			return err
		}
		for _, f := range fs {
			switch {
			case withdrawn:
				resp.Withheld[f.String()] = WithheldWithdrawn
			case !ok:
				resp.Withheld[f.String()] = WithheldNoRecord
			// "How far back" bounds records of events and periods (a tax
			// year, a payment); a person's civil status, coverage or
			// employment is their present state, however old its start.
			case p.MaxAge > 0 && ages(domain) && rec.Meta.EventTime.Before(now.Add(-p.MaxAge)):
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

// ages reports whether domain's records describe a period or an event,
// which age; the others describe a present state.
func ages(name string) bool {
	d, ok := domains.ByName(name)
	return ok && d.Ages
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
