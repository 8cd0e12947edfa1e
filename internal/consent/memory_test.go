package consent_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/consent"
	"github.com/passerelle-bus/passerelle/policy"
)

func consentAt(version int64, status string) *policy.Consent {
	c := &policy.Consent{ID: "c1", Citizen: "p", Requester: "cnaf", Purpose: "disability-allowance-review",
		Fields: []string{"health.*"}, Start: time.Unix(0, 0), Expiry: time.Unix(1<<32, 0), Mode: policy.ModeOneTime, MaxUses: 1,
		Status: status, Version: version}
	if err := c.Prepare(); err != nil {
		panic(err)
	}
	return c
}

// The state of a consent only moves forward: to a higher version, or at the
// same version to a status further along the lifecycle; a revoked or
// expired consent never comes back, whatever is written after it.
func TestConsentStateOnlyMovesForward(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []*policy.Consent
		want  []string // Apply's answer to each step
		final string
	}{
		{"given, paused, resumed", []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(2, policy.ConsentPaused), consentAt(3, policy.ConsentActive)},
			[]string{"", "", ""}, policy.ConsentActive},
		{"the given event replayed after the revocation", []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(2, policy.ConsentRevoked), consentAt(1, policy.ConsentActive)},
			[]string{"", "", consent.RefusedStale}, policy.ConsentRevoked},
		{"a later version cannot bring a revoked consent back", []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(2, policy.ConsentRevoked), consentAt(3, policy.ConsentActive)},
			[]string{"", "", consent.RefusedLifecycle}, policy.ConsentRevoked},
		{"nor an expired one", []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(2, policy.ConsentExpired), consentAt(5, policy.ConsentPaused)},
			[]string{"", "", consent.RefusedLifecycle}, policy.ConsentExpired},
		{"the same change read back", []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(1, policy.ConsentActive)},
			[]string{"", ""}, policy.ConsentActive},
		{"two changes from one version: the revocation wins, in either order", []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(2, policy.ConsentRevoked), consentAt(2, policy.ConsentPaused)},
			[]string{"", "", consent.RefusedStale}, policy.ConsentRevoked},
		{"two changes from one version, the other order", []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(2, policy.ConsentPaused), consentAt(2, policy.ConsentRevoked)},
			[]string{"", "", ""}, policy.ConsentRevoked},
		{"an older pause after a resume", []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(2, policy.ConsentPaused), consentAt(3, policy.ConsentActive), consentAt(2, policy.ConsentPaused)},
			[]string{"", "", "", consent.RefusedStale}, policy.ConsentActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := consent.NewMemory()
			for i, c := range tc.steps {
				if got := m.Apply(c); got != tc.want[i] {
					t.Fatalf("step %d (v%d %s): %q, want %q", i, c.Version, c.Status, got, tc.want[i])
				}
			}
			if c, _ := m.Get("c1"); c.Status != tc.final {
				t.Fatalf("ends %s, want %s", c.Status, tc.final)
			}
			if c := m.Lookup("p", "cnaf", "disability-allowance-review"); c == nil || c.Status != tc.final {
				t.Fatalf("lookup: %+v", c)
			}
		})
	}
}

// Consent events as read from the topic, in any order: decoding never
// panics, and the state never moves to a lower version or out of a final
// status.
func FuzzConsentEvents(f *testing.F) {
	for _, c := range []*policy.Consent{consentAt(1, policy.ConsentActive), consentAt(2, policy.ConsentRevoked)} {
		b, _ := json.Marshal(c)
		f.Add(b, b)
	}
	f.Add([]byte(`{"id":"c1","version":9,"status":"ACTIVE","period_seconds":-1}`), []byte(`{"id":"c1","version":1e99}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		m := consent.NewMemory()
		for _, raw := range [][]byte{a, b, a} {
			var c policy.Consent
			if json.Unmarshal(raw, &c) != nil || c.Prepare() != nil || c.ID == "" {
				continue
			}
			before, held := m.Get(c.ID)
			var was policy.Consent
			if held {
				was = *before
			}
			m.Apply(&c)
			now, _ := m.Get(c.ID)
			if held && (now.Version < was.Version || (was.Status == policy.ConsentRevoked && now.Status != policy.ConsentRevoked)) {
				t.Fatalf("moved from v%d %s to v%d %s", was.Version, was.Status, now.Version, now.Status)
			}
		}
	})
}
