package gateway_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/policy"
)

// Every registered domain, whatever it is, goes the whole way: published by
// its connector, verified and indexed, released over HTTP under a rule of
// the shipped register, with the release's audit event naming the field.
// A domain no rule releases is a domain published for nothing.
func TestEveryDomainReleased(t *testing.T) {
	f := newFixture(t)
	srv := f.srv
	for _, d := range domains.All() {
		t.Run(d.Name, func(t *testing.T) {
			rule, field := releasing(f.rules, d)
			if rule == nil {
				t.Fatalf("no rule of the register releases a field of %s without consent", d.Name)
			}
			waitSettled(t, f.trail)
			from := f.trail.Size()
			released := map[string]string{} // request id → NIR
			for _, nir := range f.everyone {
				path := fmt.Sprintf("/v1/citizens/%s/view?purpose=%s&fields=%s", nir, rule.Purpose, field)
				code, body := call(t, srv, f.token(t, rule.Requester), "GET", path, nil)
				if code != 200 {
					continue // a ceiling reached, or no record: other tests' business
				}
				got, _ := body["fields"].(map[string]any)
				r, ok := got[field].(map[string]any)
				if !ok {
					continue
				}
				if p, _ := r["provenance"].(map[string]any); p["domain"] != d.Name || p["record_id"] == "" {
					t.Fatalf("%s of %s: provenance %v", field, nir, r["provenance"])
				}
				released[body["request_id"].(string)] = nir
			}
			n := len(released)
			waitSettled(t, f.trail)
			for i := from; i < f.trail.Size(); i++ {
				ev, _, err := f.trail.Event(i)
				if _, ok := released[ev.ID]; err != nil || !ok {
					continue
				}
				if !slices.Contains(ev.Released, field) || ev.Void != "" {
					t.Fatalf("the release's audit event: %+v", ev)
				}
				delete(released, ev.ID)
			}
			if len(released) > 0 {
				t.Fatalf("%d releases without their audit event", len(released))
			}
			if n == 0 {
				t.Fatalf("%s (%s for %s under %s) released to no citizen of %d", field, rule.Requester, rule.Purpose, rule.ID, len(f.everyone))
			}
			t.Logf("%s released to %d of %d citizens under %s, each with its audit event", field, n, len(f.everyone), rule.ID)
		})
	}
}

// releasing finds a rule of rs that releases a field of d with no consent:
// any field, or a special-category one under a rule naming its exception.
func releasing(rs *policy.RuleSet, d *domain.Domain) (*policy.Rule, string) {
	for _, r := range rs.Rules() {
		if r.ConsentRequired {
			continue
		}
		for _, f := range d.Fields {
			name := d.Name + "." + f.Name
			if !slices.Contains(r.Fields, name) && !slices.Contains(r.Fields, d.Name+".*") {
				continue
			}
			if f.Class != domain.SpecialCategory || r.HealthException != "" {
				return r, name
			}
		}
	}
	return nil, ""
}
