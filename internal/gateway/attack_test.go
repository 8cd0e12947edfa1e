package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/trust"
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
	if len(b) > 0 && json.Unmarshal(b, &out) != nil {
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
					default:
						t.Errorf("answer %d %v", a.code, a.body)
					}
				}
				if ok > p.MaxPerCitizen || ok+refused != burstSize {
					t.Fatalf("%d answered, %d refused for the ceiling, of %d: at most %d may be answered", ok, refused, burstSize, p.MaxPerCitizen)
				}
				cit, _ := f.pseudo.Audit(context.Background(), []string{nir})
				waitSettled(t, f.trail)
				if n, err := f.trail.Uses(cit[0], "cnaf", p.ID, time.Now().Add(-p.Window)); err != nil || n != ok {
					t.Fatalf("the log counts %d uses (%v), the answers %d", n, err, ok)
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

var _ = fmt.Sprint
