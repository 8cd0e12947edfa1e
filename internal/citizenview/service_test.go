package citizenview_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// Purposes the tests ask for, and what their rules give cnaf.
const (
	housing    = "housing-aid-eligibility"     // civil status and tax, no consent
	disability = "disability-allowance-review" // health needs the citizen's consent; 2 a month
)

var kinds = []error{citizenview.ErrInvalid, citizenview.ErrRefused, citizenview.ErrSettled, citizenview.ErrUnavailable, citizenview.ErrIndexFailed}

// Every way a view is not answered: its kind, its code, when to ask again,
// and whether it is in the audit log (every refusal is; what could not be
// decided or recorded is not).
func TestErrors(t *testing.T) {
	w := newWorld(t)
	s := w.gateway(t)
	other := w.gateway(t) // another instance writing the same log
	ceiling := &audit.Ceiling{Max: 2, WindowSeconds: 30 * 24 * 3600}

	// Variants of the service, each missing one thing.
	with := func(change func(*citizenview.Service)) *citizenview.Service {
		v := *s
		change(&v)
		return &v
	}
	keysDown := with(func(v *citizenview.Service) { v.Pseudo = pseudo.New(failing{w.keys, "audit"}) })
	domainKeysDown := with(func(v *citizenview.Service) { v.Pseudo = pseudo.New(failing{w.keys, pseudo.DomainKey("")}) })
	indexBehind := with(func(v *citizenview.Service) { v.Index = view.New(view.NewMemory(), w.codec, w.store, nil, nil) })
	consentsBehind := with(func(v *citizenview.Service) {
		v.Consents = &consents{Memory: w.consents.Memory, lag: errors.New("behind")}
	})
	trailBehind := with(func(v *citizenview.Service) {
		v.Limits = citizenview.NewLimits(audit.NewTrail(w.store, audit.TrailOptions{Topic: w.topic})) // never followed
	})
	ctx, stop := context.WithCancel(w.ctx)
	closed := w.trail(t, ctx)
	stop()
	closed.Close()
	indexGone := with(func(v *citizenview.Service) { v.Limits = citizenview.NewLimits(closed) })
	auditDown := with(func(v *citizenview.Service) { v.Audit = down{} })
	// Another gateway's events land just before each of this one's.
	preceded := func(before func(ev audit.Event) []audit.Event) *citizenview.Service {
		return with(func(v *citizenview.Service) { v.Audit = precededBy{v.Audit, other.Audit, before} })
	}
	tokenFirst := preceded(func(ev audit.Event) []audit.Event {
		return []audit.Event{{ID: audit.NewID(time.Now()), Time: ev.Time, Kind: audit.KindView, Requester: ev.Requester,
			Decision: "deny", Code: policy.CodeNoRule, Token: ev.Token, TokenExpiry: ev.TokenExpiry}}
	})
	ceilingFirst := preceded(func(ev audit.Event) []audit.Event {
		var out []audit.Event
		for range ceiling.Max {
			out = append(out, audit.Event{ID: audit.NewID(time.Now()), Time: ev.Time, Kind: audit.KindView, Requester: ev.Requester,
				Purpose: ev.Purpose, Citizen: ev.Citizen, Decision: "allow", Released: []string{"civilstatus.birth_date"}, Ceiling: ceiling})
		}
		return out
	})

	for i, tc := range []struct {
		name    string
		s       *citizenview.Service
		member  string
		nir     string // "" for the case's own citizen
		purpose string
		fields  []string
		before  int // views allowed first, about the same citizen
		kind    error
		code    string
		retry   time.Duration
		logged  int // events carrying the request's token
		detail  string
	}{
		{name: "a malformed NIR", nir: "184077505612373", purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrInvalid, code: citizenview.CodeNIRMalformed, logged: 1},
		{name: "a purpose not in the register", purpose: "curiosity", fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrInvalid, code: citizenview.CodeUnknownPurpose, logged: 1, detail: `"curiosity"`},
		{name: "an unknown field", purpose: housing, fields: []string{"tax.salary"},
			kind: citizenview.ErrInvalid, code: citizenview.CodeFieldUnknown, logged: 1, detail: "tax.salary"},
		{name: "no field", purpose: housing,
			kind: citizenview.ErrInvalid, code: citizenview.CodeFieldUnknown, logged: 1},
		{name: "a member without a rule", member: "cnam", purpose: housing, fields: []string{"tax.reference_income"},
			kind: citizenview.ErrRefused, code: policy.CodeNoRule, logged: 1},
		{name: "a field the rule does not give", member: "dgfip", purpose: "tax-assessment", fields: []string{"health.scheme"},
			kind: citizenview.ErrRefused, code: policy.CodeFieldNotAllowed, logged: 1},
		{name: "health without consent", purpose: disability, fields: []string{"health.long_term_condition"},
			kind: citizenview.ErrRefused, code: policy.CodeConsentMissing, logged: 1},
		{name: "past the ceiling", purpose: disability, fields: []string{"civilstatus.birth_date"}, before: 2,
			kind: citizenview.ErrRefused, code: policy.CodeCeilingFrequency, logged: 1,
			detail: "at most 2 accesses per citizen within 720h0m0s for " + disability},
		{name: "the token used first at another gateway", s: tokenFirst, purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrSettled, code: audit.VoidToken, logged: 2},
		{name: "the ceiling reached first at another gateway", s: ceilingFirst, purpose: disability, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrSettled, code: audit.VoidCeiling, logged: 1},
		{name: "pseudonym keys unavailable", s: keysDown, purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrUnavailable, code: citizenview.CodeKeysUnavailable},
		{name: "the view still replaying", s: indexBehind, purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrUnavailable, code: citizenview.CodeViewLagging, retry: 5 * time.Second},
		{name: "the consents still replaying", s: consentsBehind, purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrUnavailable, code: citizenview.CodeConsentLagging, retry: 2 * time.Second},
		{name: "the audit trail still replaying", s: trailBehind, purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrUnavailable, code: citizenview.CodeUsageLagging, retry: 2 * time.Second},
		{name: "the view unreadable", s: domainKeysDown, purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrUnavailable, code: citizenview.CodeViewUnavailable, detail: "request "},
		{name: "the audit log down", s: auditDown, purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrUnavailable, code: citizenview.CodeAuditUnavailable, retry: 5 * time.Second},
		{name: "the audit index unreadable", s: indexGone, purpose: housing, fields: []string{"civilstatus.birth_date"},
			kind: citizenview.ErrIndexFailed, code: citizenview.CodeIndexFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, member, nir := tc.s, tc.member, tc.nir
			if svc == nil {
				svc = s
			}
			if member == "" {
				member = "cnaf"
			}
			if nir == "" {
				nir = w.adults[i%len(w.adults)]
			}
			for range tc.before {
				if _, err := s.View(context.Background(), request(s, member, nir, tc.purpose, tc.fields...)); err != nil {
					t.Fatal(err)
				}
			}
			req := request(svc, member, nir, tc.purpose, tc.fields...)
			_, err := svc.View(context.Background(), req)
			var e *citizenview.Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			for _, k := range kinds {
				if errors.Is(err, k) != (k == tc.kind) {
					t.Fatalf("%v: errors.Is(%v) is %v", err, k, k != tc.kind)
				}
			}
			if e.Code != tc.code || e.RetryAfter != tc.retry || !strings.Contains(e.Detail, tc.detail) {
				t.Fatalf("%v: code %s, retry after %s, detail %q; want %s, %s, %q", err, e.Code, e.RetryAfter, e.Detail, tc.code, tc.retry, tc.detail)
			}
			evs := events(t, s.Trail, req.Token.ID)
			if len(evs) != tc.logged {
				t.Fatalf("%d events carry the request's token, want %d: %+v", len(evs), tc.logged, evs)
			}
			if tc.logged == 0 {
				return
			}
			ev := evs[len(evs)-1]
			switch {
			case ev.Requester != member || ev.KeyID != req.Token.KeyID || ev.TokenExpiry != req.Token.Expiry.Unix() ||
				(ev.Decision != "deny" && tc.kind != citizenview.ErrSettled):
				t.Fatalf("the event: %+v", ev)
			case tc.kind == citizenview.ErrInvalid && (ev.Kind != audit.KindRefusal || ev.Code != tc.code || ev.Query["route"] != "test" || (ev.Citizen == "") != (tc.code == citizenview.CodeNIRMalformed)):
				t.Fatalf("the refusal's event: %+v", ev)
			case tc.kind == citizenview.ErrRefused && (ev.Kind != audit.KindView || ev.Code != tc.code || ev.Ceiling != nil || !strings.Contains(e.Detail, ev.ID)):
				t.Fatalf("the policy's refusal's event: %+v (detail %q)", ev, e.Detail)
			case tc.kind == citizenview.ErrSettled && ev.Void != tc.code:
				t.Fatalf("the log settled the event %q, the answer says %s", ev.Void, tc.code)
			}
		})
	}
}

// A view released: the granted fields with their provenance, the event
// saying what was released and claiming a use of the ceiling; and a view
// whose granted fields all lack a record, claiming none.
func TestRelease(t *testing.T) {
	w := newWorld(t)
	s := w.gateway(t)
	nir := w.adults[0]
	req := request(s, "cnaf", nir, housing, "tax.reference_income", "civilstatus.birth_date", "civilstatus.death_date")
	resp, err := s.View(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	income, ok := resp.Fields["tax.reference_income"]
	if resp.Decision != "partial" || resp.Rule != "cnaf-housing-aid-eligibility" || !ok || income.Provenance.Source != "dgfip" ||
		income.Provenance.Domain != "tax" || income.Provenance.RecordID == "" || income.Provenance.KeyID == "" ||
		resp.Fields["civilstatus.birth_date"].Value == nil || resp.Withheld["civilstatus.death_date"] != policy.CodeFieldNotAllowed {
		t.Fatalf("the answer: %+v", resp)
	}
	evs := events(t, s.Trail, req.Token.ID)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if ev.ID != resp.RequestID || ev.Decision != "partial" || strings.Join(ev.Released, ",") != "civilstatus.birth_date,tax.reference_income" ||
		strings.Join(ev.Withheld, ",") != "civilstatus.death_date" || ev.Ceiling == nil || ev.Ceiling.Max != 4 || ev.Consent != nil || ev.Void != "" {
		t.Fatalf("the event: %+v", ev)
	}
	// Employment, which the world does not publish: nothing released, no
	// use claimed.
	req = request(s, "dgfip", nir, "tax-assessment", "hr.employer")
	if resp, err = s.View(context.Background(), req); err != nil || len(resp.Fields) != 0 || resp.Withheld["hr.employer"] != citizenview.WithheldNoRecord {
		t.Fatalf("no record: %+v %v", resp, err)
	}
	if evs := events(t, s.Trail, req.Token.ID); len(evs) != 1 || evs[0].Ceiling != nil || evs[0].Consent != nil || len(evs[0].Released) != 0 {
		t.Fatalf("a view that released nothing claims a use: %+v", evs)
	}
}

// Two dozen views at once about one citizen, against a purpose's ceiling
// of N and against a one-time consent: exactly N released (one under the
// consent), on one instance and spread over two sharing the log; every
// other refused by the policy or settled against by the log, and the log
// counts what was answered.
func TestConcurrentViewsHoldTheirLimits(t *testing.T) {
	const burst = 24
	w := newWorld(t)
	one, two := w.gateway(t), w.gateway(t)
	p, _ := w.rules.Purpose(disability)
	if p.MaxPerCitizen < 2 || p.MaxPerCitizen >= burst {
		t.Fatalf("the purpose's ceiling is %d: the test wants 2 to %d", p.MaxPerCitizen, burst-1)
	}
	// The refusals, by the policy or by the log for a claim another
	// instance's event took first (the void's code is the policy's). A
	// consent's use is also a use of the ceiling: a hold counts until the
	// trail has read its event, even one the log voided, so past a use
	// standing at the other instance the ceiling may be what refuses (a
	// refusal too many, never a release).
	ceiling := []string{policy.CodeCeilingFrequency}
	consent := []string{policy.CodeConsentOverused, policy.CodeCeilingFrequency}
	for i, tc := range []struct {
		name     string
		services []*citizenview.Service
		field    string
		consent  bool
		want     int
		refusals []string
	}{
		{"a ceiling, one instance", []*citizenview.Service{one}, "civilstatus.birth_date", false, p.MaxPerCitizen, ceiling},
		{"a ceiling, two instances", []*citizenview.Service{one, two}, "civilstatus.birth_date", false, p.MaxPerCitizen, ceiling},
		{"a one-time consent, one instance", []*citizenview.Service{one}, "health.long_term_condition", true, 1, consent[:1]},
		{"a one-time consent, two instances", []*citizenview.Service{one, two}, "health.long_term_condition", true, 1, consent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nir := withRecord(t, w, i)
			cit, _ := w.pseudo.Audit(context.Background(), []string{nir})
			if tc.consent {
				given(w, cit[0], 1)
			}
			reqs := make([]citizenview.Request, burst)
			for j := range reqs {
				reqs[j] = request(tc.services[j%len(tc.services)], "cnaf", nir, disability, tc.field)
			}
			type answer struct {
				resp citizenview.Response
				err  error
			}
			as := make([]answer, burst)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for j := range burst {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					as[j].resp, as[j].err = tc.services[j%len(tc.services)].View(context.Background(), reqs[j])
				}()
			}
			close(start)
			wg.Wait()
			released := 0
			for _, a := range as {
				var e *citizenview.Error
				switch {
				case a.err == nil && a.resp.Fields[tc.field].Value != nil:
					released++
				case errors.As(a.err, &e) && slices.Contains(tc.refusals, e.Code) &&
					(errors.Is(e, citizenview.ErrRefused) || errors.Is(e, citizenview.ErrSettled)):
				default:
					t.Errorf("answer %+v %v", a.resp, a.err)
				}
			}
			if released != tc.want {
				t.Fatalf("%d of %d views released %s, want exactly %d", released, burst, tc.field, tc.want)
			}
			// The log agrees with the answers.
			synced(t, one.Trail)
			n, err := one.Trail.Uses(cit[0], "cnaf", disability, time.Now().Add(-p.Window))
			if err != nil || n != tc.want {
				t.Fatalf("the log counts %d releases (%v), the answers %d", n, err, tc.want)
			}
			for _, a := range as {
				if a.err == nil {
					if void, found, err := one.Trail.Outcome(a.resp.RequestID); !found || void != "" || err != nil {
						t.Fatalf("an answer given is void in the log: %q %v %v", void, found, err)
					}
				}
			}
		})
	}
}

// withRecord returns an adult, the i-th of those with a health record.
func withRecord(t *testing.T, w *world, i int) string {
	t.Helper()
	for _, n := range w.adults {
		subjects, _ := w.pseudo.Domain(context.Background(), "health", []string{n})
		if _, ok, _ := w.index.Lookup(context.Background(), "health", subjects[0]); ok {
			if i == 0 {
				return n
			}
			i--
		}
	}
	t.Fatal("too few adults with a health record")
	return ""
}

// given applies citizen's consent to cnaf's disability allowance review,
// for health data, one-time if uses is 1, else uses a day.
func given(w *world, citizen string, uses int) {
	c := &policy.Consent{ID: fmt.Sprintf("cst-%s-%d", citizen[:8], time.Now().UnixNano()), Citizen: citizen, Requester: "cnaf",
		Purpose: disability, Fields: []string{"health.*"}, Start: time.Now().Add(-time.Hour), Expiry: time.Now().Add(time.Hour),
		Mode: policy.ModeOneTime, MaxUses: 1, Status: policy.ConsentActive, Version: 1}
	if uses > 1 {
		c.Mode, c.MaxUses, c.Period = policy.ModePeriodic, uses, 24*time.Hour
	}
	c.Prepare()
	w.consents.Apply(c)
}

// failing is a keyring whose keys named with prefix are out of reach.
type failing struct {
	pseudo.Keyring
	prefix string
}

func (f failing) HMAC(ctx context.Context, key string, msgs [][]byte) ([][]byte, error) {
	if strings.HasPrefix(key, f.prefix) {
		return nil, errors.New("keyring unreachable")
	}
	return f.Keyring.HMAC(ctx, key, msgs)
}

// down is an audit log whose broker does not answer.
type down struct{}

func (down) Append(context.Context, audit.Event) (audit.Receipt, error) {
	return audit.Receipt{}, fmt.Errorf("%w: the broker does not answer", audit.ErrUnavailable)
}
func (down) Void(audit.Event, string) {}

// precededBy writes, through other (another instance's log), the events
// before gives just before each of its own: what another instance's
// requests, a moment earlier, would have written.
type precededBy struct {
	audit.Appender
	other  audit.Appender
	before func(audit.Event) []audit.Event
}

func (p precededBy) Append(ctx context.Context, ev audit.Event) (audit.Receipt, error) {
	for _, o := range p.before(ev) {
		if _, err := p.other.Append(ctx, o); err != nil {
			return audit.Receipt{}, err
		}
	}
	return p.Appender.Append(ctx, ev)
}
