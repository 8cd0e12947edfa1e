// Package citizenview answers a citizen view: what a member may read about
// a citizen for a purpose. It validates the request, decides by the policy,
// counts the purposes' ceilings and the citizen's consents and holds the
// uses a release makes (limits.go), records the decision in the audit log
// and waits for the log to settle its claims (docs/limits.md), and only
// then assembles the released fields with their provenance. It knows
// nothing of HTTP: the gateway's handler is one caller of View among
// those that need the same answer.
package citizenview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// Service answers citizen views. Every part but Log is required.
type Service struct {
	Rules *policy.RuleSet
	// Index is the view the released values are read from.
	Index    *view.Index
	Pseudo   *pseudo.Pseudonymizer
	Consents ConsentLookup
	// Audit writes the views' events (an *audit.Log), and Trail follows
	// the log it writes: the limits count from it and it settles the
	// events' claims.
	Audit audit.Appender
	Trail *audit.Trail
	// Limits holds the uses of requests in flight: NewLimits(Trail).
	Limits *Limits
	Log    *slog.Logger
}

// ConsentLookup finds the consent in force for (citizen, requester,
// purpose); Ready is nil once it has caught up with the consent topic.
type ConsentLookup interface {
	Lookup(citizen, requester, purpose string) *policy.Consent
	Ready() error
}

// Request is a view asked for: by whom and with which token, about whom,
// for what, and when.
type Request struct {
	// Requester is the member asking.
	Requester string
	// Token is the request token it asked with, as the audit event
	// records it; zero for a request made without one.
	Token Token
	// From is how far the audit trail had read (audit.Trail.Next) when
	// the checks that let the request in began, its token's included: the
	// log settles against the records beyond it. Zero is always safe, at
	// the cost of reading the log back for events another writer's
	// records may precede.
	From int64
	// Route names what the request came through (an HTTP route's
	// pattern), for the event of a request refused for its form.
	Route   string
	NIR     string
	Purpose string
	// Fields are the names asked for: "tax.reference_income", or
	// "health.*" for all of a domain's.
	Fields []string
	// Time is when it was asked: what the rules and the limits count at.
	Time time.Time
}

// Token is a request token as an audit event records it.
type Token struct {
	// ID names the token (trust.Caller.TokenID): a claim in the log, so
	// that its replay at any gateway is void.
	ID     string
	KeyID  string
	Expiry time.Time
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

// Response is a view answered: the decision, the fields released and
// those withheld with their reasons. It is also the body the gateway
// answers.
type Response struct {
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

// errNoField: a request naming no field at all.
var errNoField = errors.New("no field asked for")

// View answers req. Its audit event is durable, and the log has settled
// its claims, before anything is returned: a refusal by the policy, a
// request refused for its form and a release alike. An error is an
// *Error; nothing is released with it.
func (s *Service) View(ctx context.Context, req Request) (Response, error) {
	if err := pseudo.ValidateNIR(req.NIR); err != nil {
		return Response{}, s.refuse(ctx, &req, CodeNIRMalformed, "nir", err.Error(), err)
	}
	p, ok := s.Rules.Purpose(req.Purpose)
	switch {
	case req.Purpose == "":
		return Response{}, s.refuse(ctx, &req, CodeUnknownPurpose, "purpose",
			"purpose: required: the purpose the view is for, one of the register's (GET /v1/rules)", policy.ErrUnknownPurpose)
	case !ok:
		return Response{}, s.refuse(ctx, &req, CodeUnknownPurpose, "purpose",
			fmt.Sprintf("purpose: %q is not in the register (GET /v1/rules lists its purposes)", req.Purpose), policy.ErrUnknownPurpose)
	}
	names := slices.DeleteFunc(slices.Clone(req.Fields), func(n string) bool { return strings.TrimSpace(n) == "" })
	if len(names) == 0 {
		return Response{}, s.refuse(ctx, &req, CodeFieldUnknown, "fields",
			"fields: required: the fields to read, comma-separated, e.g. fields=tax.reference_income,civilstatus.birth_date (GET /v1/rules lists them)", errNoField)
	}
	fields, err := policy.ParseFields(names)
	if err != nil {
		return Response{}, s.refuse(ctx, &req, CodeFieldUnknown, "fields", "fields: "+err.Error()+" (GET /v1/rules lists the fields)", err)
	}
	auditIDs, err := s.Pseudo.Audit(ctx, []string{req.NIR})
	if err != nil {
		return Response{}, unavailable(CodeKeysUnavailable, 0, err)
	}
	citizen := auditIDs[0]
	select {
	case <-s.Index.Ready():
	default:
		return Response{}, unavailable(CodeViewLagging, retryViewLagging, nil)
	}
	if err := s.Consents.Ready(); err != nil {
		return Response{}, unavailable(CodeConsentLagging, retryStateLagged, err)
	}

	preq := policy.Request{Requester: req.Requester, Purpose: req.Purpose, Fields: fields, Time: req.Time}
	var d policy.Decision
	ev := audit.Event{ID: audit.NewID(time.Now()), Time: req.Time, Kind: audit.KindView, Requester: req.Requester,
		Purpose: req.Purpose, Citizen: citizen}
	hold, err := s.decide(citizen, p, &preq, &d, &ev)
	if err != nil {
		if errors.Is(err, ErrUsageLagging) {
			return Response{}, unavailable(CodeUsageLagging, retryStateLagged, err)
		}
		return Response{}, &Error{Kind: ErrIndexFailed, Code: CodeIndexFailed, Detail: err.Error(), Err: err}
	}
	if d.Outcome == policy.Deny {
		ev.Withheld = fields.Names()
		slices.Sort(ev.Withheld)
		void, _, err := s.record(ctx, &req, ev)
		if err := settled(void, err); err != nil {
			return Response{}, err
		}
		return Response{}, s.refusal(ev, &d, p, &preq, citizen)
	}

	resp := Response{RequestID: ev.ID, Purpose: req.Purpose, Decision: d.Outcome.String(), Rule: d.Rule.ID,
		PolicyVersion: d.PolicyVersion, LegalBasis: d.Rule.LegalBasis, LegalReference: d.Rule.LegalReference,
		Fields: map[string]Released{}, Withheld: map[string]string{}}
	for _, f := range d.WithheldSet().Fields() {
		resp.Withheld[f.String()] = d.Withheld(f)
	}
	if err := s.assemble(ctx, req.NIR, d.Granted, p, req.Time, &resp); err != nil {
		hold.Release()
		s.log().Error("view assembly failed", "component", "citizenview", "decision_id", ev.ID, "err", err)
		e := unavailable(CodeViewUnavailable, 0, err)
		e.Detail = "request " + ev.ID
		return Response{}, e
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
	void, rc, err := s.record(ctx, &req, ev)
	if err != nil {
		hold.Release()
		return Response{}, auditDown(err)
	}
	hold.Written(rc.Offset)
	if void != "" {
		return Response{}, &Error{Kind: ErrSettled, Code: void}
	}
	return resp, nil
}

// decide counts the uses already made of the purpose's ceiling and of the
// citizen's consent, decides, and holds the uses a release would make,
// under the citizen's lock: concurrent requests about a citizen count each
// other's holds. It fills in the event's decision and claims.
func (s *Service) decide(citizen string, p *policy.Purpose, req *policy.Request, d *policy.Decision, ev *audit.Event) (*Hold, error) {
	lk, err := s.Limits.Lock(citizen)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	trail := s.Limits.trail
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
	if cons := s.Consents.Lookup(citizen, req.Requester, req.Purpose); cons != nil {
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
	s.Rules.Decide(req, d)
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

// refusal is the error of a request the policy refused, saying what it
// means for the requester: for a ceiling, which one and when the next
// access can be answered; for a consent, its state and uses.
func (s *Service) refusal(ev audit.Event, d *policy.Decision, p *policy.Purpose, req *policy.Request, citizen string) *Error {
	e := &Error{Kind: ErrRefused, Code: d.Code, Detail: "request " + ev.ID}
	switch d.Code {
	case policy.CodeCeilingFrequency:
		e.Ceiling = &CeilingState{Purpose: p.ID, Max: p.MaxPerCitizen, WindowSeconds: int64(p.Window / time.Second), Used: req.RecentAccesses}
		if at, ok := s.oldestUse(citizen, req.Requester, p, req.Time); ok {
			retry := at.Add(p.Window).UTC()
			e.Ceiling.RetryAt = &retry
		}
		e.Detail = fmt.Sprintf("request %s: at most %d accesses per citizen within %s for %s", ev.ID, p.MaxPerCitizen, p.Window, p.ID)
		if e.Ceiling.RetryAt != nil {
			e.Detail += "; the next can be answered from " + e.Ceiling.RetryAt.Format(time.RFC3339)
		}
	case policy.CodeConsentOverused, policy.CodeConsentExpired, policy.CodeConsentRevoked, policy.CodeConsentPaused:
		if c := req.Consent; c != nil {
			e.Consent = &ConsentState{ID: c.ID, Status: c.Status, Mode: c.Mode, MaxUses: c.MaxUses, Uses: req.ConsentUses,
				UsesLeft: max(c.MaxUses-req.ConsentUses, 0), Expiry: c.Expiry}
			e.Detail = fmt.Sprintf("request %s: consent %s is %s, %d of %d uses left", ev.ID, c.ID, consentWord(d.Code), e.Consent.UsesLeft, c.MaxUses)
		}
	}
	return e
}

// consentWord says a consent refusal's reason as a state.
func consentWord(code string) string {
	return map[string]string{policy.CodeConsentOverused: "used up", policy.CodeConsentExpired: "expired",
		policy.CodeConsentRevoked: "revoked", policy.CodeConsentPaused: "paused"}[code]
}

// oldestUse is the time of the oldest access still counted against the
// purpose's ceiling for this citizen and requester, as the log has them.
func (s *Service) oldestUse(citizen, requester string, p *policy.Purpose, now time.Time) (time.Time, bool) {
	evs, _, err := s.Trail.Events(audit.Filter{Citizen: citizen, Requester: requester, Purpose: p.ID,
		Kinds: []string{audit.KindView}, From: now.Add(-p.Window), After: -1})
	if err != nil {
		return time.Time{}, false
	}
	var oldest time.Time
	for _, e := range evs {
		if e.Void == "" && e.Ceiling != nil && len(e.Released) > 0 && (oldest.IsZero() || e.Time.Before(oldest)) {
			oldest = e.Time
		}
	}
	if !oldest.IsZero() {
		return oldest, true
	}
	return time.Time{}, false
}

// assemble reads the granted fields from the view, domain by domain.
func (s *Service) assemble(ctx context.Context, nir string, granted policy.FieldSet, p *policy.Purpose, now time.Time, resp *Response) error {
	byDomain := map[string][]policy.Field{}
	for _, f := range granted.Fields() {
		byDomain[f.Domain()] = append(byDomain[f.Domain()], f)
	}
	for domain, fs := range byDomain {
		subjects, err := s.Pseudo.Domain(ctx, domain, []string{nir})
		if err != nil {
			return err
		}
		rec, ok, err := s.Index.Lookup(ctx, domain, subjects[0])
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

// refuse records a request refused for its form, as every refusal is
// recorded (kind refusal, with the citizen's audit pseudonym if the NIR is
// valid, so that the attempt shows in the citizen's trail), and returns
// its error.
func (s *Service) refuse(ctx context.Context, req *Request, code, param, detail string, cause error) error {
	ev := audit.Event{ID: audit.NewID(time.Now()), Time: req.Time, Kind: audit.KindRefusal, Requester: req.Requester,
		Decision: "deny", Code: code}
	if req.Route != "" {
		ev.Query = map[string]string{"route": req.Route}
	}
	if code != CodeNIRMalformed {
		if ids, err := s.Pseudo.Audit(ctx, []string{req.NIR}); err == nil {
			ev.Citizen = ids[0]
		}
	}
	void, _, err := s.record(ctx, req, ev)
	if err := settled(void, err); err != nil {
		return err
	}
	return &Error{Kind: ErrInvalid, Code: code, Parameter: param, Detail: detail, Err: cause}
}

// record writes ev with the request's token and returns once the log has
// settled it (audit.Trail.Record).
func (s *Service) record(ctx context.Context, req *Request, ev audit.Event) (string, audit.Receipt, error) {
	ev.KeyID, ev.Token = req.Token.KeyID, req.Token.ID
	if !req.Token.Expiry.IsZero() {
		ev.TokenExpiry = req.Token.Expiry.Unix()
	}
	void, rc, err := s.Trail.Record(ctx, s.Audit, ev, req.From)
	if errors.Is(err, audit.ErrUnsettled) {
		s.log().Warn("audit event not settled: nothing released", "component", "citizenview", "decision_id", ev.ID, "err", err)
	}
	return void, rc, err
}

// settled is the error of an event the log did not let stand: not
// written (or not settled), or void. Nil if the answer it records stands.
func settled(void string, err error) error {
	switch {
	case err != nil:
		return auditDown(err)
	case void != "":
		return &Error{Kind: ErrSettled, Code: void}
	}
	return nil
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return discard
	}
	return s.Log
}

var discard = slog.New(slog.DiscardHandler)
