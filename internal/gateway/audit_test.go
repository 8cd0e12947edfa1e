package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/citizenview"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/interop"
	"github.com/passerelle-bus/passerelle/policy"
)

// The audit trail's acceptance: a scripted run of mixed requests leaves
// exactly one event per decision; `passerelle audit verify` passes on the
// topic and fails, naming the record, when an event is forged onto it,
// when one is dropped from a copy of it, and when a checkpoint is signed
// by another key.
func TestAuditTrail(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) { auditTrail(t, tg, newFixtureOn(t, tg, 120)) })
}

// step is one request of the script; decides says whether it reaches a
// decision (and so leaves an audit event) or is refused before one, for its
// form, its token or the caller's role.
type step struct {
	member, method, path string
	body                 any
	status               int
	decides              bool
}

func auditTrail(t *testing.T, tg bustest.Target, f *fixture) {
	for f.journal.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	view := func(nir, purpose, fields string) string {
		return "/v1/citizens/" + nir + "/view?purpose=" + purpose + "&fields=" + fields
	}
	give := map[string]any{"nir": f.nir, "requester": "cnaf", "purpose": "disability-allowance-review",
		"fields": []string{"health.*"}, "start": time.Now().Add(-time.Minute), "expiry": time.Now().Add(time.Hour),
		"mode": "periodic", "max_uses": 10, "period_seconds": 86400}
	script := []step{
		{"cnaf", "GET", view(f.adults[1], "housing-aid-eligibility", "tax.reference_income,civilstatus.birth_date"), nil, 200, true},
		{"cnaf", "GET", view(f.adults[2], "housing-aid-eligibility", "tax.reference_income,health.long_term_condition"), nil, 200, true}, // partial
		{"cnaf", "GET", view(f.nir, "housing-aid-eligibility", "tax.reference_income,tax.shares"), nil, 200, true},
		{"dgfip", "GET", view(f.nir, "tax-assessment", "health.scheme"), nil, 403, true},
		{"cnam", "GET", view(f.nir, "housing-aid-eligibility", "tax.reference_income"), nil, 403, true},
		{"cnaf", "GET", view(f.nir, "disability-allowance-review", "health.long_term_condition"), nil, 403, true}, // no consent yet
		{"portail", "POST", "/v1/consents", give, 201, true},
		{"cnaf", "GET", view(f.nir, "disability-allowance-review", "health.long_term_condition"), nil, 200, true},
		// Refusals are audited too (kind refusal), but for a request whose
		// token nobody holds: nobody is known to have asked.
		{"cnil", "GET", view(f.nir, "housing-aid-eligibility", "tax.reference_income"), nil, 403, true}, // not a reader
		{"cnaf", "GET", view("184077505612373", "housing-aid-eligibility", "tax.reference_income"), nil, 400, true},
		{"", "GET", view(f.nir, "housing-aid-eligibility", "tax.reference_income"), nil, 401, false},
		{"cnaf", "GET", "/v1/audit/events", nil, 403, true}, // not an auditor
		{"cnil", "GET", "/v1/audit/events?requester=cnaf", nil, 200, true},
		{"portail", "GET", "/v1/citizens/" + f.nir + "/access-log", nil, 200, true},
	}
	decisions := 0
	var consentID string
	for i, s := range script {
		code, body := f.send(t, s.member, s.method, s.path, s.body)
		if code != s.status {
			t.Fatalf("step %d %s %s as %q: %d %v, want %d", i, s.method, s.path, s.member, code, body, s.status)
		}
		if s.method == "POST" {
			consentID = body["id"].(string)
		}
		if s.decides {
			decisions++
		}
	}
	if code, _ := f.send(t, "portail", "DELETE", "/v1/consents/"+consentID, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	code, body := f.get(t, "cnaf", view(f.nir, "disability-allowance-review", "health.long_term_condition"))
	if code != 403 || body["code"] != policy.CodeConsentRevoked {
		t.Fatalf("after revocation: %d %v", code, body)
	}
	decisions += 2

	// Every decision is on the topic, once.
	waitTrail(t, f.trail, int64(decisions))
	kinds := map[string]int{}
	for _, m := range readTopic(t, f.client, f.auditTopic) {
		if string(m.Key) != audit.CheckpointKey {
			e, _, _ := f.trail.Event(int64(kinds["all"]))
			kinds[e.Kind]++
			kinds["all"]++
		}
	}
	if kinds["all"] != decisions || kinds[audit.KindView] != 8 || kinds[audit.KindConsent] != 2 || kinds[audit.KindTrace] != 1 ||
		kinds[audit.KindAccessLog] != 1 || kinds[audit.KindRefusal] != 3 {
		t.Fatalf("audit events by kind %v, want %d in all: 8 views, 2 consent changes, 1 trace, 1 access log, 3 refusals", kinds, decisions)
	}

	// The citizen's portal sees who accessed the citizen's data, by name.
	code, body = f.get(t, "portail", "/v1/citizens/"+f.nir+"/access-log")
	accesses, _ := body["accesses"].([]any)
	if code != 200 || len(accesses) != 6 {
		t.Fatalf("access log: %d, %d accesses, want 6: %v", code, len(accesses), body)
	}
	first := accesses[0].(map[string]any)
	finance, _ := domains.ByName("finance")
	if first["requester_name"] != finance.Publisher.Name || first["legal_basis"] == "" || first["decision"] != "allow" {
		t.Fatalf("access log entry %v", first)
	}

	// An auditor proves an event is in the log the gateway signed.
	code, body = f.get(t, "cnil", "/v1/audit/proof?event="+first["event_id"].(string))
	if code != 200 {
		t.Fatalf("proof: %d %v", code, body)
	}
	checkInclusion(t, f, body)
	t.Run("python checks checkpoints and proofs", func(t *testing.T) { pythonChecksProofs(t, f, body) })

	// passerelle audit verify, run as an auditor would.
	bin := passerelleBinary(t)
	verify := func(topic string, extra ...string) (string, error) {
		args := append(append([]string{"audit", "verify", "--data", f.world.Dir, "--topic", topic}, tg.CLIArgs()...), extra...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	out, err := verify(f.auditTopic)
	if err != nil || !strings.Contains(out, fmt.Sprintf("%d events", decisions+1)) { // +1: the second access-log read
		t.Fatalf("honest log: %v\n%s", err, out)
	}
	eventID := first["event_id"].(string)
	prove, err := exec.Command(bin, "audit", "prove", "--event", eventID, "--gateway", f.srv.URL, "--data", f.world.Dir,
		"--member", "cnil", "--audience", gatewayID).CombinedOutput()
	if err != nil || !containsAll(string(prove), "event "+eventID+" is leaf ", " events "+gatewayID+" signed", `"requester":"cnaf"`) {
		t.Fatalf("audit prove: %v\n%s", err, prove)
	}

	records := readTopic(t, f.client, f.auditTopic)
	dropAt := len(records) / 2
	for string(records[dropAt].Key) == audit.CheckpointKey {
		dropAt++
	}
	dropped := append(append([]bus.Message(nil), records[:dropAt]...), records[dropAt+1:]...)
	wrong := append(append([]bus.Message(nil), records...), bus.Message{Key: []byte(audit.CheckpointKey), Value: wronglySigned(t, records)})
	for _, tc := range []struct {
		name    string
		records []bus.Message
		want    []string
	}{
		{"an event dropped", dropped, []string{fmt.Sprintf("offset %d (event ", dropAt), "events missing", "missing before this one"}},
		{"a checkpoint signed by another key", wrong, []string{fmt.Sprintf("offset %d (checkpoint)", len(records)), "signed by no gateway key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			copyTopic := bustest.Topic(t, f.client, 1)
			writeAll(t, f.client, copyTopic, tc.records)
			out, err := verify(copyTopic, "--origin", f.auditTopic)
			t.Logf("passerelle audit verify: %s", out)
			if err == nil || !containsAll(out, tc.want...) {
				t.Fatalf("verify: %v\n%s\nwant %q", err, out, tc.want)
			}
		})
	}
	t.Run("a forged event appended to the topic", func(t *testing.T) {
		forged := `{"id":"forged-0001","writer":"0badc0de","seq":0,"kind":"view","requester":"cnaf","decision":"allow"}`
		writeAll(t, f.client, f.auditTopic, []bus.Message{{Key: []byte("forged-0001"), Value: []byte(forged)}})
		out, err := verify(f.auditTopic)
		t.Logf("passerelle audit verify: %s", out)
		if err == nil || !containsAll(out, "(event forged-0001)", "event not signed by a gateway") {
			t.Fatalf("verify: %v\n%s", err, out)
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func waitTrail(t *testing.T, tr *audit.Trail, n int64) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); tr.Size() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("trail holds %d events, want %d", tr.Size(), n)
		}
	}
}

// readTopic reads a topic whole: each partition's records in their order,
// the partitions' interleaved.
func readTopic(t *testing.T, c *bus.Client, topic string) []bus.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []bus.Message
	var mu sync.Mutex // one callback per partition, at once
	if err := c.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeAll(t *testing.T, c *bus.Client, topic string, msgs []bus.Message) {
	t.Helper()
	w := c.NewWriter(nil)
	defer w.Close()
	out := make([]bus.Message, len(msgs))
	for i, m := range msgs {
		out[i] = bus.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: m.Headers}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Write(ctx, out...); err != nil {
		t.Fatal(err)
	}
}

// wronglySigned is the log's last checkpoint signed again by a key of the
// same name that the registry does not hold.
func wronglySigned(t *testing.T, records []bus.Message) []byte {
	t.Helper()
	var last []byte
	for _, m := range records {
		if string(m.Key) == audit.CheckpointKey {
			last = m.Value
		}
	}
	text := string(last[:strings.Index(string(last), "\n\n")+1])
	skey, _, _ := note.GenerateKey(rand.Reader, gatewayID)
	s, _ := note.NewSigner(skey)
	signed, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func checkInclusion(t *testing.T, f *fixture, body map[string]any) {
	t.Helper()
	known, _ := audit.GatewayVerifiers(f.world.Store(t).Current())
	cp, err := audit.OpenCheckpoint([]byte(body["checkpoint"].(string)), known)
	if err != nil {
		t.Fatal(err)
	}
	var proof tlog.RecordProof
	for _, s := range body["proof"].([]any) {
		b, _ := base64.StdEncoding.DecodeString(s.(string))
		proof = append(proof, tlog.Hash(b))
	}
	index := int64(body["index"].(float64))
	e, _, _ := f.trail.Event(index)
	leaf := readTopicValue(t, f, e.Offset)
	if served, _ := base64.StdEncoding.DecodeString(body["leaf"].(string)); !bytes.Equal(served, leaf) {
		t.Fatalf("the proof's leaf is not the record on the topic:\n%s\n%s", served, leaf)
	}
	if err := tlog.CheckRecord(proof, cp.Size, cp.Root, index, tlog.RecordHash(leaf)); err != nil {
		t.Fatalf("inclusion proof of event %d in the signed tree of %d: %v", index, cp.Size, err)
	}
}

func readTopicValue(t *testing.T, f *fixture, offset int64) []byte {
	for _, m := range readTopic(t, f.client, f.auditTopic) {
		if m.Offset == offset {
			return m.Value
		}
	}
	t.Fatalf("no record at offset %d", offset)
	return nil
}

// passerelleBinary builds the command (the build cache makes a second
// build a link).
func passerelleBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "passerelle")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/passerelle-bus/passerelle/cmd/passerelle").CombinedOutput(); err != nil {
		t.Fatalf("build: %v: %s", err, out)
	}
	return bin
}

// With the broker stopped, no access can be recorded, so none is granted:
// 503 with Retry-After and nothing of the citizen in the answer.
func TestNothingReleasedWhenTheAuditLogIsDown(t *testing.T) {
	tg := bustest.Embedded(t)
	f := newFixtureOn(t, tg, 120)
	path := "/v1/citizens/" + f.nir + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income,civilstatus.birth_date"
	if code, body := f.get(t, "cnaf", path); code != 200 {
		t.Fatalf("broker up: %d %v", code, body)
	}
	tg.Embedded.Close()
	for _, s := range []step{
		{"cnaf", "GET", path, nil, 503, true},
		{"cnaf", "GET", path, nil, 503, true}, // and again, on the writer's next epoch
		{"portail", "GET", "/v1/citizens/" + f.nir + "/access-log", nil, 503, true},
	} {
		start := time.Now()
		code, b := f.do(t, s.member, s.method, s.path, s.body)
		// The access log cannot even learn what it has not read yet.
		if code != s.status || !strings.Contains(string(b), `"code":"audit-unavailable"`) && !strings.Contains(string(b), `"code":"audit-trail-lagging"`) {
			t.Fatalf("%s %s with the broker stopped: %d %s", s.method, s.path, code, b)
		}
		for _, leak := range []string{"fields", "reference_income\":{", "accesses", "events\":["} {
			if strings.Contains(string(b), leak) {
				t.Fatalf("the refusal carries %q: %s", leak, b)
			}
		}
		t.Logf("%s refused in %s", s.path, time.Since(start).Round(time.Millisecond))
	}
}

// pythonChecksProofs hands checkpoints and proofs served by the gateway to
// python3-jwcrypto (Ed25519) and an RFC 9162 verifier written from the RFC,
// with negative controls.
func pythonChecksProofs(t *testing.T, f *fixture, proof map[string]any) {
	py := interop.Python(t, "jwcrypto.jwk")
	_, jwks := f.do(t, "", "GET", "/v1/members/"+gatewayID+"/jwks.json", nil)
	signed := proof["checkpoint"].(string)
	size := int64(proof["size"].(float64))
	records := readTopic(t, f.client, f.auditTopic)
	leaf := func(i int64) string {
		e, _, _ := f.trail.Event(i)
		for _, m := range records {
			if m.Offset == e.Offset {
				return base64.StdEncoding.EncodeToString(m.Value)
			}
		}
		t.Fatalf("leaf %d not on the topic", i)
		return ""
	}
	type inclusion struct {
		Leaf  string   `json:"leaf"`
		Index int64    `json:"index"`
		Size  int64    `json:"size"`
		Root  string   `json:"root"`
		Proof []string `json:"proof"`
	}
	type consistency struct {
		First     int64    `json:"first"`
		FirstRoot string   `json:"first_root"`
		Size      int64    `json:"size"`
		Root      string   `json:"root"`
		Proof     []string `json:"proof"`
	}
	cases := struct {
		JWKS          json.RawMessage `json:"jwks"`
		Name          string          `json:"name"`
		Notes         []string        `json:"notes"`
		Inclusions    []inclusion     `json:"inclusions"`
		Consistencies []consistency   `json:"consistencies"`
	}{JWKS: jwks, Name: gatewayID}
	tampered := strings.Replace(signed, fmt.Sprintf("\n%d\n", size), fmt.Sprintf("\n%d\n", size+1), 1)
	cases.Notes = []string{signed, tampered, string(wronglySigned(t, []bus.Message{{Key: []byte(audit.CheckpointKey), Value: []byte(signed)}}))}
	wantNotes := []bool{true, false, false}

	strs := func(v any) []string {
		out := []string{}
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	root := proof["root"].(string)
	var wantIncl []bool
	for i := range size {
		code, p := f.get(t, "cnil", fmt.Sprintf("/v1/audit/proof?index=%d&size=%d", i, size))
		if code != 200 {
			t.Fatalf("proof of %d: %d %v", i, code, p)
		}
		cases.Inclusions = append(cases.Inclusions, inclusion{Leaf: leaf(i), Index: i, Size: size, Root: root, Proof: strs(p["proof"])})
		wantIncl = append(wantIncl, true)
	}
	bad := cases.Inclusions[0]
	bad.Leaf = leaf(1)
	cases.Inclusions = append(cases.Inclusions, bad)
	wantIncl = append(wantIncl, false)

	var wantCons []bool
	for m := int64(1); m <= size; m++ {
		code, p := f.get(t, "cnil", fmt.Sprintf("/v1/audit/proof?from=%d&size=%d", m, size))
		if code != 200 {
			t.Fatalf("consistency %d→%d: %d %v", m, size, code, p)
		}
		old, _ := f.trail.Tree().Root(m)
		cases.Consistencies = append(cases.Consistencies, consistency{First: m, FirstRoot: b64(old), Size: size, Root: root, Proof: strs(p["proof"])})
		wantCons = append(wantCons, true)
	}
	badc := cases.Consistencies[len(cases.Consistencies)/2]
	badc.FirstRoot = cases.Consistencies[0].FirstRoot
	cases.Consistencies = append(cases.Consistencies, badc)
	wantCons = append(wantCons, false)

	path := filepath.Join(t.TempDir(), "cases.json")
	b, _ := json.Marshal(cases)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/checkpoint_verify.py", path).Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, interop.Stderr(err))
	}
	var got struct{ Notes, Inclusions, Consistencies []bool }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python printed %q", out)
	}
	for _, c := range []struct {
		what      string
		got, want []bool
	}{{"notes", got.Notes, wantNotes}, {"inclusions", got.Inclusions, wantIncl}, {"consistencies", got.Consistencies, wantCons}} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: python says %v, want %v", c.what, c.got, c.want)
		}
	}
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// The purposes' frequency ceilings count from the audit log: a gateway
// restarted (its counts in memory gone), or another instance on the same
// log, still refuses the access past the ceiling.
func TestCeilingsCountFromTheAuditLog(t *testing.T) {
	f := newFixture(t)
	nir := f.adults[3]
	path := "/v1/citizens/" + nir + "/view?purpose=housing-aid-eligibility&fields=tax.reference_income"
	p, _ := f.cz.Service.Rules.Purpose("housing-aid-eligibility")
	for i := range p.MaxPerCitizen {
		if code, body := f.get(t, "cnaf", path); code != 200 {
			t.Fatalf("access %d of %d: %d %v", i+1, p.MaxPerCitizen, code, body)
		}
	}
	waitTrail(t, f.trail, int64(p.MaxPerCitizen))
	f.cz.Service.Limits = citizenview.NewLimits(f.trail) // a restart: nothing held in memory
	if code, body := f.get(t, "cnaf", path); code != 403 || body["code"] != policy.CodeCeilingFrequency {
		t.Fatalf("access past the ceiling after a restart: %d %v", code, body)
	}
	// Another requester, another purpose: their own counts.
	if code, body := f.get(t, "cnaf", "/v1/citizens/"+nir+"/view?purpose=disability-allowance-review&fields=civilstatus.birth_date"); code == 403 && body["code"] == policy.CodeCeilingFrequency {
		t.Fatalf("another purpose hit this one's ceiling: %v", body)
	}
}
