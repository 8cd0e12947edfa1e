package connectors_test

import (
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/connectors"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, gone, kept string }{
		{`{"nir":"184077505612372","name":"Dupont"}`, "184077505612372", "Dupont"},
		{"P1;1 84 07 75 056 123 72;HOUSING_AID;2026-02-01", "056 123", "HOUSING_AID;2026-02-01"},
		{"P1;1840775056123721;x", "184077505612372", ";x"},    // a digit too many
		{"P1;18407750561237;x", "18407750561237", "P1;"},      // a digit too few
		{"P1;284072A00412387;x", "2A00412387", "P1;"},         // Corsica
		{"P1;584072Z00412387;x", "Z00412387", "P1;"},          // garbage, still someone's
		{"amount 23150 on 2026-03-05 by CAF 75", "", "23150"}, // ordinary numbers stay
	} {
		got := connectors.Redact([]byte(tc.in))
		if (tc.gone != "" && strings.Contains(got, tc.gone)) || !strings.Contains(got, tc.kept) {
			t.Errorf("Redact(%q) = %q", tc.in, got)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add([]byte("1 84 07 75 056 123 72"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := connectors.Redact(b)
		digits, seps := 0, 0
		for _, c := range out {
			switch {
			case c >= '0' && c <= '9':
				digits, seps = digits+1, 0
			case (c == ' ' || c == '.' || c == '-') && seps < 3:
				seps++
			default:
				digits, seps = 0, 0
			}
			if digits >= 13 {
				t.Fatalf("a 13-digit run survived: %q", out)
			}
		}
	})
}
