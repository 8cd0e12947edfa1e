package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/internal/consent"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/interop"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// The adversarial suite: what an attacker would try against the limits and
// the trace, each on the embedded broker and the real one.

// burstSize is how many requests an attack sends at once.
const burstSize = 50

// token mints a fresh request token of member.
func (f *fixture) token(t testing.TB, member string) string {
	t.Helper()
	key, _ := f.world.Keys.Current(member)
	tok, err := trust.MintToken(key, member, gatewayID, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

// call sends one request to srv with a token already minted.
func call(t testing.TB, srv *httptest.Server, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") && json.Unmarshal(b, &out) != nil {
		t.Errorf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, out
}

// answer is one request's outcome in a burst.
type answer struct {
	code int
	body map[string]any
}

// burst sends n requests at once, each made by req(i) (server, token,
// path), released together once all are ready to go.
func burst(t *testing.T, n int, req func(i int) (*httptest.Server, string, string)) []answer {
	t.Helper()
	out := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		srv, tok, path := req(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i].code, out[i].body = call(t, srv, tok, "GET", path, nil)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// released counts the answers that released field.
func released(as []answer, field string) int {
	n := 0
	for _, a := range as {
		if fields, _ := a.body["fields"].(map[string]any); fields[field] != nil {
			n++
		}
	}
	return n
}

// Fifty requests at once about one citizen, past a ceiling of two and a
// one-time consent, on one gateway and spread over two sharing the log:
// no more answers than the limit, and the log agrees.
func TestBurstsHoldTheirLimits(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		f := newFixtureOn(t, tg, 120)
		twin := f.twin(t)
		p, _ := f.rules.Purpose("disability-allowance-review")
		if p.MaxPerCitizen != 2 {
			t.Fatalf("the purpose's ceiling is %d: the test counts on 2", p.MaxPerCitizen)
		}
		for _, layout := range []struct {
			name    string
			servers []*httptest.Server
			citizen int
		}{{"one gateway", []*httptest.Server{f.srv}, 5}, {"two gateways", []*httptest.Server{f.srv, twin}, 6}} {
			t.Run(layout.name, func(t *testing.T) {
				nir := f.adults[layout.citizen]
				on := func(i int) *httptest.Server { return layout.servers[i%len(layout.servers)] }

				// The ceiling: two accesses a month.
				path := "/v1/citizens/" + nir + "/view?purpose=disability-allowance-review&fields=civilstatus.birth_date"
				tokens := make([]string, burstSize)
				for i := range tokens {
					tokens[i] = f.token(t, "cnaf")
				}
				as := burst(t, burstSize, func(i int) (*httptest.Server, string, string) { return on(i), tokens[i], path })
				ok, refused := 0, 0
				for _, a := range as {
					switch {
					case a.code == 200:
						ok++
					case a.code == 403 && a.body["code"] == policy.CodeCeilingFrequency:
						refused++
						// Unless another gateway's request won the use (then
						// the log's order says so), the refusal says which
						// ceiling.
						if d, _ := a.body["detail"].(string); len(layout.servers) == 1 && !strings.Contains(d, "at most 2 accesses per citizen within 720h0m0s") {
							t.Errorf("the refusal does not name the ceiling: %q", d)
						}
					default:
						t.Errorf("answer %d %v", a.code, a.body)
					}
				}
				if ok > p.MaxPerCitizen || ok+refused != burstSize {
					t.Fatalf("%d answered, %d refused for the ceiling, of %d: at most %d may be answered", ok, refused, burstSize, p.MaxPerCitizen)
				}
				// Another request carries any void still waiting to be
				// written; then every answer given stands in the log.
				call(t, f.srv, f.token(t, "cnil"), "GET", "/v1/audit/checkpoint", nil)
				cit, _ := f.pseudo.Audit(context.Background(), []string{nir})
				waitSettled(t, f.trail)
				if n, err := f.trail.Uses(cit[0], "cnaf", p.ID, time.Now().Add(-p.Window)); err != nil || n != ok {
					t.Fatalf("the log counts %d uses (%v), the answers %d", n, err, ok)
				}
				for _, a := range as {
					if a.code == 200 {
						if void, found, err := f.trail.Outcome(a.body["request_id"].(string)); !found || void != "" || err != nil {
							t.Fatalf("an answer given is void in the log: %q %v %v", void, found, err)
						}
					}
				}
			})
		}
		// A one-time consent for health data, then fifty requests at once
		// for the field it covers (another purpose's ceiling, 6, is not
		// what limits them: the consent is).
		for _, layout := range []struct {
			name    string
			servers []*httptest.Server
			citizen int
		}{{"one gateway", []*httptest.Server{f.srv}, 7}, {"two gateways", []*httptest.Server{f.srv, twin}, 8}} {
			t.Run("one-time consent, "+layout.name, func(t *testing.T) {
				nir := f.adults[layout.citizen]
				give := map[string]any{"nir": nir, "requester": "cnaf", "purpose": "disability-allowance-review",
					"fields": []string{"health.*"}, "start": time.Now().Add(-time.Minute), "expiry": time.Now().Add(time.Hour), "mode": "one-time"}
				if code, body := call(t, f.srv, f.token(t, "portail"), "POST", "/v1/consents", give); code != 201 {
					t.Fatalf("consent: %d %v", code, body)
				}
				waitConsents(t, f)
				path := "/v1/citizens/" + nir + "/view?purpose=disability-allowance-review&fields=health.long_term_condition"
				tokens := make([]string, burstSize)
				for i := range tokens {
					tokens[i] = f.token(t, "cnaf")
				}
				as := burst(t, burstSize, func(i int) (*httptest.Server, string, string) {
					return layout.servers[i%len(layout.servers)], tokens[i], path
				})
				if n := released(as, "health.long_term_condition"); n > 1 {
					t.Fatalf("a one-time consent released the field %d times", n)
				}
				for _, a := range as {
					if a.code != 200 && a.code != 403 {
						t.Errorf("answer %d %v", a.code, a.body)
					}
				}
			})
		}
	})
}

// One token, sent to two gateway instances at once, and again and again:
// one answer, every other refused as a replay.
func TestTokenReplayAcrossGateways(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		f := newFixtureOn(t, tg, 120)
		twin := f.twin(t)
		path := "/v1/citizens/" + f.adults[9] + "/view?purpose=tax-assessment&fields=civilstatus.birth_date"
		for round := range 10 {
			tok := f.token(t, "dgfip")
			as := burst(t, 6, func(i int) (*httptest.Server, string, string) {
				if i%2 == 0 {
					return f.srv, tok, path
				}
				return twin, tok, path
			})
			ok := 0
			for _, a := range as {
				switch {
				case a.code == 200:
					ok++
				case a.code == 401 && a.body["code"] == trust.AuthReplayed:
				default:
					t.Errorf("round %d: answer %d %v", round, a.code, a.body)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: one token answered %d times", round, ok)
			}
		}
		// And later, once both have read the log: still refused by either.
		tok := f.token(t, "dgfip")
		if code, _ := call(t, f.srv, tok, "GET", path, nil); code != 200 {
			t.Fatalf("first use: %d", code)
		}
		waitSettled(t, f.trail)
		for _, srv := range []*httptest.Server{f.srv, twin} {
			if code, body := call(t, srv, tok, "GET", path, nil); code != 401 || body["code"] != trust.AuthReplayed {
				t.Fatalf("replay: %d %v", code, body)
			}
		}
		// Each replay refused is in the trail, as the member's refusal.
		waitSettled(t, f.trail)
		refusals, _, _ := f.trail.Events(audit.Filter{Requester: "dgfip", Kinds: []string{audit.KindRefusal}, After: -1})
		replays := 0
		for _, e := range refusals {
			if e.Code == trust.AuthReplayed && e.Citizen != "" {
				replays++
			}
		}
		if replays < 2 {
			t.Fatalf("%d replays refused in the trail, want at least the last 2", replays)
		}
	})
}

// waitSettled waits until the trail has read every record written so far.
func waitSettled(t *testing.T, tr *audit.Trail) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tr.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitConsents(t *testing.T, f *fixture) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); f.journal.Ready() != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("consent state never caught up")
		}
	}
}

// kcatProduce writes m with Debian's kcat, a client we did not write: what
// an attacker holding a copy of a record would use.
func kcatProduce(t *testing.T, tg bustest.Target, m bus.Message) {
	t.Helper()
	kcat := interop.Kcat(t)
	file := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(file, m.Value, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-P", "-t", m.Topic, "-p", strconv.Itoa(m.Partition), "-k", string(m.Key)}
	for _, h := range m.Headers {
		args = append(args, "-H", h.Key+"="+string(h.Value))
	}
	args = append(args, file)
	if tg.Security != nil {
		// On the locked-down broker, a principal the ACL file does not
		// let write the topic cannot even produce the forgery.
		f := tg.ApplyACLs(t)
		if f.Allows("User:auditor", "topic", m.Topic, "Write") {
			t.Fatalf("the ACL file lets the auditor write %s", m.Topic)
		}
		out, err := exec.Command(kcat, append(tg.KcatArgs(t, "auditor"), args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "authoriz") {
			t.Fatalf("kcat as the auditor wrote to %s: %v: %s", m.Topic, err, out)
		}
	}
	// The superuser can: what follows shows the log's readers refuse it.
	if out, err := exec.Command(kcat, append(tg.KcatArgs(t, "admin"), args...)...).CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v: %s", err, out)
	}
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// Records written again by a stock client, validly signed, change nothing:
// a revoked consent's "given" event, and a citizen's earlier civil status.
// Each is refused as stale and counted.
func TestReplaysFromAStockClient(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		f := newFixtureOn(t, tg, 120)
		ctx := context.Background()
		t.Run("a revoked consent", func(t *testing.T) {
			nir := f.adults[12]
			give := map[string]any{"nir": nir, "requester": "cnaf", "purpose": "disability-allowance-review",
				"fields": []string{"health.*"}, "start": time.Now().Add(-time.Minute), "expiry": time.Now().Add(time.Hour),
				"mode": "periodic", "max_uses": 10, "period_seconds": 86400}
			code, body := call(t, f.srv, f.token(t, "portail"), "POST", "/v1/consents", give)
			if code != 201 {
				t.Fatalf("consent: %d %v", code, body)
			}
			id := body["id"].(string)
			if code, _ := call(t, f.srv, f.token(t, "portail"), "DELETE", "/v1/consents/"+id, nil); code != 204 {
				t.Fatalf("revoke: %d", code)
			}
			var given bus.Message
			for _, m := range readTopic(t, f.client, bus.TopicConsent) {
				if string(m.Key) == id && bytes.Contains(m.Value, []byte(`"ACTIVE"`)) {
					given = m
				}
			}
			if given.Value == nil {
				t.Fatal("the given event is not on the topic")
			}
			before := testutil.ToFloat64(f.journal.Rejected(consent.RefusedStale))
			kcatProduce(t, tg, given)
			waitFor(t, "the replay to be read", func() bool { return testutil.ToFloat64(f.journal.Rejected(consent.RefusedStale)) > before })
			if c, _ := f.journal.Store().Get(id); c.Status != policy.ConsentRevoked {
				t.Fatalf("the consent came back: %+v", c)
			}
			path := "/v1/citizens/" + nir + "/view?purpose=disability-allowance-review&fields=health.long_term_condition"
			if code, body := call(t, f.srv, f.token(t, "cnaf"), "GET", path, nil); code != 403 || body["code"] != policy.CodeConsentRevoked {
				t.Fatalf("health data after the replay: %d %v", code, body)
			}
		})
		t.Run("an earlier civil status", func(t *testing.T) {
			// A citizen whose civil status changed: the first record
			// written again after the last.
			byKey := map[string][]bus.Message{}
			cs, _ := domains.ByName("civilstatus")
			for _, m := range readTopic(t, f.client, cs.Topic()) {
				byKey[string(m.Key)] = append(byKey[string(m.Key)], m)
			}
			subjects, _ := f.pseudo.Domain(ctx, "civilstatus", f.everyone)
			var nir string
			var first, last bus.Message
			for i, s := range subjects {
				if ms := byKey[s]; len(ms) >= 2 {
					nir, first, last = f.everyone[i], ms[0], ms[len(ms)-1]
					break
				}
			}
			if nir == "" {
				t.Fatal("no citizen's civil status changed in the population: the test proves nothing")
			}
			path := "/v1/citizens/" + nir + "/view?purpose=tax-assessment&fields=civilstatus.marital_status,civilstatus.address,civilstatus.death_date"
			code, before := call(t, f.srv, f.token(t, "dgfip"), "GET", path, nil)
			if code != 200 {
				t.Fatalf("before: %d %v", code, before)
			}
			_, lastMeta, _ := view.Decode(f.codec, "civilstatus", last.Value)
			rejected := func() float64 { return testutil.ToFloat64(f.cz.Service.Index.Rejected("civilstatus", "stale")) }
			was := rejected()
			kcatProduce(t, tg, first)
			waitFor(t, "the replay to be read", func() bool { return rejected() > was })
			code, after := call(t, f.srv, f.token(t, "dgfip"), "GET", path, nil)
			if code != 200 || !sameJSON(before["fields"], after["fields"]) || !sameJSON(before["withheld"], after["withheld"]) {
				t.Fatalf("the view moved: before %v, after %v", before, after)
			}
			for name, r := range after["fields"].(map[string]any) {
				if rid := r.(map[string]any)["provenance"].(map[string]any)["record_id"]; rid != lastMeta.RecordID {
					t.Fatalf("%s comes from record %v, want the latest %s", name, rid, lastMeta.RecordID)
				}
			}
		})
	})
}

// Every authenticated endpoint, called by every member: only the roles it
// names are let through, and every call, refusals included, leaves exactly
// one audit event of that member. A proof shows an event's content only to
// an auditor or to the member the event records.
func TestEveryEndpointEveryRole(t *testing.T) {
	f := newFixture(t)
	nir := f.adults[13]
	give := map[string]any{"nir": nir, "requester": "cnaf", "purpose": "disability-allowance-review",
		"fields": []string{"health.*"}, "start": time.Now().Add(-time.Minute), "expiry": time.Now().Add(time.Hour)}
	endpoints := []struct {
		method, path string
		body         any
		role         string // "" for any member
	}{
		{"GET", "/v1/citizens/" + nir + "/view?purpose=housing-aid-eligibility&fields=civilstatus.birth_date", nil, trust.RoleReader},
		{"POST", "/v1/consents", give, trust.RoleConsentCollector},
		{"DELETE", "/v1/consents/cst-none", nil, trust.RoleConsentCollector},
		{"GET", "/v1/citizens/" + nir + "/consents", nil, trust.RoleConsentCollector},
		{"GET", "/v1/citizens/" + nir + "/access-log", nil, trust.RoleConsentCollector},
		{"GET", "/v1/audit/events?limit=5", nil, trust.RoleAuditor},
		{"GET", "/v1/audit/checkpoint", nil, ""},
		{"GET", "/v1/audit/proof?index=0", nil, ""},
	}
	reg := f.store.Current()
	for _, spec := range viewMembers {
		m, _ := reg.Member(spec.ID)
		for _, e := range endpoints {
			t.Run(spec.ID+" "+e.method+" "+e.path, func(t *testing.T) {
				waitSettled(t, f.trail)
				size := f.trail.Size()
				code, body := call(t, f.srv, f.token(t, spec.ID), e.method, e.path, e.body)
				allowed := e.role == "" || m.Has(e.role)
				switch {
				case !allowed && (code != 403 || body["code"] != "role-missing"):
					t.Fatalf("without the %s role: %d %v, want 403 role-missing", e.role, code, body)
				case allowed && (code == 401 || body["code"] == "role-missing" || code >= 500):
					t.Fatalf("with the role: %d %v", code, body)
				}
				waitSettled(t, f.trail)
				if got := f.trail.Size(); got != size+1 {
					t.Fatalf("%d audit events for one call, want 1", got-size)
				}
				ev, _, err := f.trail.Event(size)
				if err != nil || ev.Requester != spec.ID || ev.Token == "" {
					t.Fatalf("the call's event: %+v %v", ev, err)
				}
				if !allowed && (ev.Kind != audit.KindRefusal || ev.Code != "role-missing") {
					t.Fatalf("the refusal's event: %+v", ev)
				}
				if e.path == "/v1/audit/proof?index=0" {
					first, _, _ := f.trail.Event(0)
					if _, shown := body["leaf"]; shown != (m.Has(trust.RoleAuditor) || first.Requester == spec.ID) {
						t.Fatalf("event 0 (of %s) shown to %s: %v", first.Requester, spec.ID, shown)
					}
				}
			})
		}
	}
}

// A paused broker: requests are answered 503, /readyz says not ready, and
// once the broker is back no event of those requests counts as a release
// (the events that landed late are void) and readiness returns. The
// embedded broker frozen in-process, and a real Kafka broker of the
// test's own frozen with SIGSTOP.
func TestPausedBroker(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		tg := bustest.Embedded(t)
		pausedBroker(t, tg, func() func() { return pauseBroker(tg) })
	})
	t.Run("kafka", func(t *testing.T) {
		b := bustest.Private(t)
		pausedBroker(t, b.Target, b.Pause)
	})
}

func pausedBroker(t *testing.T, tg bustest.Target, pause func() (resume func())) {
	f := newFixtureOn(t, tg, 120)
	nir := f.adults[14]
	path := "/v1/citizens/" + nir + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income"
	ready := func() (int, map[string]any) { return call(t, f.srv, "", "GET", "/readyz", nil) }
	if code, body := ready(); code != 200 {
		t.Fatalf("readyz before: %d %v", code, body)
	}
	resume := pause()
	tokens := []string{f.token(t, "cnaf"), f.token(t, "cnaf"), f.token(t, "cnaf")}
	t0 := time.Now()
	as := burst(t, len(tokens), func(i int) (*httptest.Server, string, string) { return f.srv, tokens[i], path })
	t.Logf("burst took %s", time.Since(t0))
	for _, a := range as {
		if a.code != 503 || a.body["code"] != "audit-unavailable" {
			t.Fatalf("while paused: %d %v", a.code, a.body)
		}
	}
	if code, body := ready(); code != 503 || body["ready"] != false || body["checks"].(map[string]any)["kafka"] == "ok" {
		t.Fatalf("readyz while paused: %d %v", code, body)
	}
	resume()
	waitFor(t, "readiness", func() bool { code, body := ready(); return code == 200 && body["ready"] == true })
	cit, _ := f.pseudo.Audit(context.Background(), []string{nir})
	// The produce the paused broker held lands once it resumes: the
	// phantom releases, had nothing voided them.
	waitFor(t, "the late events and their voids", func() bool {
		waitSettled(t, f.trail)
		evs, _, _ := f.trail.Events(audit.Filter{Citizen: cit[0], Kinds: []string{audit.KindView}, After: -1})
		for _, e := range evs {
			if e.Void != audit.VoidUnavailable {
				return false
			}
		}
		return len(evs) == len(tokens)
	})
	if n, err := f.trail.Uses(cit[0], "cnaf", "housing-aid-eligibility", time.Now().Add(-time.Hour)); n != 0 || err != nil {
		t.Fatalf("the log counts %d releases (%v) for requests answered 503", n, err)
	}
	// A broker just thawed may still answer "not available" for a moment:
	// the gateway then says 503, truthfully, and the portal asks again.
	var code int
	var body map[string]any
	waitFor(t, "the access log", func() bool {
		code, body = call(t, f.srv, f.token(t, "portail"), "GET", "/v1/citizens/"+nir+"/access-log", nil)
		if code == 503 && body["code"] == "audit-trail-lagging" {
			return false
		}
		if code != 200 {
			t.Fatalf("access log: %d %v", code, body)
		}
		return true
	})
	for _, a := range body["accesses"].([]any) {
		if a := a.(map[string]any); len(a["released"].([]any)) != 0 || a["void"] != audit.VoidUnavailable {
			t.Fatalf("the citizen's access log shows a release answered 503: %v", a)
		}
	}
	waitFor(t, "a view after the pause", func() bool {
		code, body := call(t, f.srv, f.token(t, "cnaf"), "GET", path, nil)
		if code == 503 {
			return false // the broker may flap a moment more
		}
		if code != 200 {
			t.Fatalf("after the pause: %d %v", code, body)
		}
		return true
	})
}

// pauseBroker freezes the embedded broker as SIGSTOP freezes a process:
// every request waits, none is answered, until resume; then each is
// handled as it would have been.
func pauseBroker(tg bustest.Target) (resume func()) {
	ch := make(chan struct{})
	tg.Embedded.Fake().Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		<-ch
		return nil, nil, false
	})
	return func() { close(ch) }
}

// A gateway restarted with an index still reading the log answers 503,
// never "no record", until the index has caught up.
func TestNoViewBeforeTheIndexCaughtUp(t *testing.T) {
	f := newFixture(t)
	ix := view.New(view.NewMemory(), f.codec, f.store, nil, nil)
	_, _, srv := f.instance(t, ix, f.auditLog, f.trail, f.publisher)
	path := "/v1/citizens/" + f.adults[15] + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income"
	if code, body := call(t, srv, f.token(t, "cnaf"), "GET", path, nil); code != 503 || body["code"] != "view-lagging" {
		t.Fatalf("before the index caught up: %d %v", code, body)
	}
	if code, _ := call(t, srv, "", "GET", "/readyz", nil); code != 503 {
		t.Fatalf("readyz before the index caught up: %d", code)
	}
	bustest.Follow(t, f.ctx, func(ctx context.Context) { ix.Run(ctx, f.client) })
	waitFor(t, "the index", func() bool {
		select {
		case <-ix.Ready():
			return true
		default:
			return false
		}
	})
	code, body := call(t, srv, f.token(t, "cnaf"), "GET", path, nil)
	if fields, _ := body["fields"].(map[string]any); code != 200 || fields["tax.reference_income"] == nil {
		t.Fatalf("after: %d %v", code, body)
	}
}

// A publisher revoked in the registry: its records are withheld from the
// next request on, not at the next rebuild.
func TestRevokedPublisherWithheldAtOnce(t *testing.T) {
	f := newFixture(t)
	path := "/v1/citizens/" + f.adults[16] + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income,civilstatus.birth_date"
	code, body := call(t, f.srv, f.token(t, "cnaf"), "GET", path, nil)
	if fields, _ := body["fields"].(map[string]any); code != 200 || fields["tax.reference_income"] == nil {
		t.Fatalf("before: %d %v", code, body)
	}
	specs := append([]trust.MemberSpec(nil), viewMembers...)
	for i := range specs {
		if specs[i].ID == "dgfip" {
			specs[i].Status = trust.StatusRevoked
		}
	}
	f.world.Publish(t, specs)
	if _, err := f.store.Reload(); err != nil {
		t.Fatal(err)
	}
	code, body = call(t, f.srv, f.token(t, "cnaf"), "GET", path, nil)
	fields, _ := body["fields"].(map[string]any)
	withheld, _ := body["withheld"].(map[string]any)
	if code != 200 || fields["tax.reference_income"] != nil || withheld["tax.reference_income"] != citizenview.WithheldWithdrawn || fields["civilstatus.birth_date"] == nil {
		t.Fatalf("after the revocation: %d %v", code, body)
	}
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// An auditor's questions of the trail: each filter of GET /v1/audit/events
// narrows the events it answers, pages follow each other without a gap
// or an overlap, a malformed parameter is a 400, and the question itself
// is in the trail.
func TestAuditEventsQuery(t *testing.T) {
	f := newFixture(t)
	view := func(member, purpose, fields string) {
		call(t, f.srv, f.token(t, member), "GET", "/v1/citizens/"+f.adults[17]+"/view?purpose="+purpose+"&fields="+fields, nil)
	}
	for range 3 {
		view("cnaf", "housing-aid-eligibility", "civilstatus.birth_date")
		view("dgfip", "tax-assessment", "civilstatus.birth_date")
	}
	waitSettled(t, f.trail)
	// The citizen's portal sees every access, the log's first included.
	code, body := call(t, f.srv, f.token(t, "portail"), "GET", "/v1/citizens/"+f.adults[17]+"/access-log", nil)
	accesses, _ := body["accesses"].([]any)
	if code != 200 || len(accesses) != 6 || accesses[0].(map[string]any)["index"] != float64(0) {
		t.Fatalf("access log: %d %v", code, body)
	}
	events := func(q string) (int, []map[string]any, map[string]any) {
		t.Helper()
		code, body := call(t, f.srv, f.token(t, "cnil"), "GET", "/v1/audit/events?"+q, nil)
		var out []map[string]any
		if evs, ok := body["events"].([]any); ok {
			for _, e := range evs {
				out = append(out, e.(map[string]any))
			}
		}
		return code, out, body
	}
	if _, evs, _ := events("kind=view"); len(evs) != 6 {
		t.Fatalf("kind=view: %d events, want 6", len(evs))
	}
	_, evs, _ := events("requester=dgfip")
	for _, e := range evs {
		if e["requester"] != "dgfip" {
			t.Fatalf("requester=dgfip: %v", e)
		}
	}
	if len(evs) != 3 {
		t.Fatalf("requester=dgfip: %d events, want 3", len(evs))
	}
	if _, evs, _ := events("purpose=tax-assessment&kind=view"); len(evs) != 3 {
		t.Fatalf("purpose: %d events", len(evs))
	}
	// Pages of two, following the cursor, give the views in order, once.
	var seen []string
	q := "kind=view&limit=2"
	for range 10 {
		code, page, body := events(q)
		if code != 200 || len(page) > 2 {
			t.Fatalf("page: %d %v", code, body)
		}
		for _, e := range page {
			seen = append(seen, e["id"].(string))
		}
		next, ok := body["next"].(float64)
		if !ok {
			break
		}
		q = fmt.Sprintf("kind=view&limit=2&after=%d", int(next))
	}
	if len(seen) != 6 || len(slices.Compact(slices.Clone(seen))) != 6 {
		t.Fatalf("paged: %v", seen)
	}
	future, past := time.Now().Add(time.Hour).UTC().Format(time.RFC3339), time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if _, evs, _ := events("kind=view&from=" + future); len(evs) != 0 {
		t.Fatalf("from the future: %d events", len(evs))
	}
	if _, evs, _ := events("kind=view&to=" + past); len(evs) != 0 {
		t.Fatalf("until an hour ago: %d events", len(evs))
	}
	if _, evs, _ := events("kind=view&from=" + past + "&to=" + future); len(evs) != 6 {
		t.Fatalf("the last two hours: %d events", len(evs))
	}
	for _, bad := range []string{"after=x", "limit=x", "from=yesterday", "to=2026-13-40"} {
		if code, _, body := events(bad); code != 400 || body["code"] != "query-malformed" {
			t.Fatalf("%s: %d %v", bad, code, body)
		}
	}
	if code, _ := call(t, f.srv, f.token(t, "cnil"), "GET", "/v1/audit/proof?index=0", nil); code != 200 {
		t.Fatalf("proof: %d", code)
	}
	// No leaf for an empty index, nor at the tree's size.
	for _, q := range []string{"index=", "index=4&size=4"} {
		if code, body := call(t, f.srv, f.token(t, "cnil"), "GET", "/v1/audit/proof?"+q, nil); code != 404 || body["code"] != "event-unknown" {
			t.Fatalf("proof?%s: %d %v", q, code, body)
		}
	}
	// The questions asked are in the trail, as asked (without the NIR).
	waitSettled(t, f.trail)
	proofs, _, _ := f.trail.Events(audit.Filter{Requester: "cnil", Kinds: []string{audit.KindProof}, After: -1})
	if len(proofs) != 3 || proofs[0].Query["index"] != "0" || len(proofs[0].Query) != 1 {
		t.Fatalf("the proof asked for is not in the trail as asked: %v", proofs)
	}
	traces, _, _ := f.trail.Events(audit.Filter{Requester: "cnil", Kinds: []string{audit.KindTrace}, After: -1})
	found := false
	for _, e := range traces {
		if e.Query["purpose"] == "tax-assessment" && e.Query["kind"] == "view" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the auditor's question is not in the trail: %v", traces)
	}
}

// A periodic consent counts only the uses of its period: a use older than
// the period leaves it whole, a use within it is what its max_uses counts.
func TestPeriodicConsentCountsItsPeriod(t *testing.T) {
	f := newFixture(t)
	nir := f.adults[18]
	give := map[string]any{"nir": nir, "requester": "cnaf", "purpose": "disability-allowance-review",
		"fields": []string{"health.*"}, "start": time.Now().Add(-3 * time.Hour), "expiry": time.Now().Add(time.Hour),
		"mode": "periodic", "max_uses": 1, "period_seconds": 3600}
	code, body := call(t, f.srv, f.token(t, "portail"), "POST", "/v1/consents", give)
	if code != 201 {
		t.Fatalf("consent: %d %v", code, body)
	}
	id := body["id"].(string)
	if body["period_seconds"] != float64(3600) {
		t.Fatalf("the consent's period: %v", body["period_seconds"])
	}
	// Periods in whole seconds up to ten years: beyond, refused, not
	// wrapped around (584 years once became 0.29 s).
	for _, tc := range []struct {
		seconds int64
		code    int
	}{{315_360_000, 201}, {315_360_001, 400}, {584 * 365 * 24 * 3600, 400}, {-1, 400}} {
		g := maps.Clone(give)
		g["period_seconds"] = tc.seconds
		code, body := call(t, f.srv, f.token(t, "portail"), "POST", "/v1/consents", g)
		if code != tc.code || (code == 201 && body["period_seconds"] != float64(tc.seconds)) {
			t.Fatalf("period_seconds %d: %d %v", tc.seconds, code, body)
		}
	}
	// A request finds the latest consent given: the first terms again.
	code, body = call(t, f.srv, f.token(t, "portail"), "POST", "/v1/consents", give)
	if code != 201 {
		t.Fatalf("consent: %d %v", code, body)
	}
	id = body["id"].(string)
	waitConsents(t, f)
	cit, _ := f.pseudo.Audit(context.Background(), []string{nir})
	// A use two hours ago, another gateway's.
	f.logged(t, audit.Event{ID: "old-use", Time: time.Now().Add(-2 * time.Hour), Kind: audit.KindView, Requester: "cnaf",
		Purpose: "another-purpose", Citizen: cit[0], Decision: "allow", Consent: &audit.ConsentClaim{ID: id, MaxUses: 1, PeriodSeconds: 3600}})
	path := "/v1/citizens/" + nir + "/view?purpose=disability-allowance-review&fields=health.long_term_condition"
	code, body = call(t, f.srv, f.token(t, "cnaf"), "GET", path, nil)
	if code != 200 {
		t.Fatalf("the period's first use: %d %v", code, body)
	}
	// Its event claims a use of the consent, within the consent's period.
	waitSettled(t, f.trail)
	ev, _, err := f.trail.Event(mustIndex(t, f.trail, body["request_id"].(string)))
	if err != nil || ev.Consent == nil || *ev.Consent != (audit.ConsentClaim{ID: id, MaxUses: 1, PeriodSeconds: 3600}) ||
		ev.Ceiling == nil || *ev.Ceiling != (audit.Ceiling{Max: 2, WindowSeconds: 30 * 24 * 3600}) {
		t.Fatalf("the release's claims: %+v %+v (%v)", ev.Consent, ev.Ceiling, err)
	}
	if code, body := call(t, f.srv, f.token(t, "cnaf"), "GET", path, nil); code != 403 || body["code"] != policy.CodeConsentOverused {
		t.Fatalf("the period's second use: %d %v", code, body)
	}
}

func mustIndex(t *testing.T, tr *audit.Trail, id string) int64 {
	t.Helper()
	i, ok, err := tr.Index(id)
	if err != nil || !ok {
		t.Fatalf("event %s: %v %v", id, ok, err)
	}
	return i
}

// A view that releases nothing (every granted field lacks its record) is
// no use of the purpose's ceiling: more of them than the ceiling allows
// leave a later release untouched.
func TestNothingReleasedIsNoUse(t *testing.T) {
	f := newFixture(t)
	employed := map[string]bool{}
	for _, r := range f.pop.HR {
		employed[r.NIR] = true
	}
	var nir string
	for _, n := range f.adults {
		if !employed[n] {
			nir = n
			break
		}
	}
	if nir == "" {
		t.Fatal("every adult is a public servant: the test proves nothing")
	}
	p, _ := f.rules.Purpose("tax-assessment")
	path := "/v1/citizens/" + nir + "/view?purpose=tax-assessment&fields="
	for range p.MaxPerCitizen + 1 {
		code, body := call(t, f.srv, f.token(t, "dgfip"), "GET", path+"hr.employer", nil)
		if fields, _ := body["fields"].(map[string]any); code != 200 || len(fields) != 0 {
			t.Fatalf("no record: %d %v", code, body)
		}
	}
	code, body := call(t, f.srv, f.token(t, "dgfip"), "GET", path+"civilstatus.birth_date", nil)
	if fields, _ := body["fields"].(map[string]any); code != 200 || fields["civilstatus.birth_date"] == nil {
		t.Fatalf("after %d views that released nothing: %d %v", p.MaxPerCitizen+1, code, body)
	}
}
