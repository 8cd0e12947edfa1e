package view

import (
	"testing"

	"github.com/passerelle-bus/passerelle/policy"
)

// Every field the policy knows can be read from the view, and no other.
func TestEveryPolicyFieldIsExtracted(t *testing.T) {
	names := policy.FieldNames()
	for _, n := range names {
		if _, ok := extract[n]; !ok {
			t.Errorf("policy field %s has no extractor", n)
		}
	}
	if len(extract) != len(names) {
		t.Errorf("%d extractors for %d policy fields", len(extract), len(names))
	}
}
