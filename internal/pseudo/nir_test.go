package pseudo_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

func TestValidateNIR(t *testing.T) {
	for _, tc := range []struct {
		name, nir string
		want      error
	}{
		// 1 84 07 75 056 123: 1840775056123 mod 97 = 25, key 72.
		{"metropolitan", "184077505612372", nil},
		// Corsica: 2A counts as 19, 2B as 18.
		{"corse-du-sud", "284072A00412387", nil},
		{"haute-corse", "184072B03300195", nil},
		{"wrong key", "184077505612373", pseudo.ErrNIRKey},
		{"2A with 19's key is still right", "284071900412387", nil},
		{"short", "18407750561237", pseudo.ErrNIRFormat},
		{"letter", "18407750561X372", pseudo.ErrNIRFormat},
		{"2C is no department", "184072C03300195", pseudo.ErrNIRFormat},
		{"sex digit", "584077505612372", pseudo.ErrNIRFormat},
		{"key letters", "1840775056123AB", pseudo.ErrNIRFormat},
		{"empty", "", pseudo.ErrNIRFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pseudo.ValidateNIR(tc.nir)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && len(tc.nir) > 5 && strings.Contains(err.Error(), tc.nir[:10]) {
				t.Fatalf("error leaks the NIR: %v", err)
			}
		})
	}
}

func FuzzValidateNIR(f *testing.F) {
	f.Add("184077505612372")
	f.Add("284072A00412387")
	f.Fuzz(func(t *testing.T, s string) {
		err := pseudo.ValidateNIR(s)
		if err != nil && !errors.Is(err, pseudo.ErrNIRFormat) && !errors.Is(err, pseudo.ErrNIRKey) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil {
			k, kerr := pseudo.NIRKey(s[:13])
			if kerr != nil || fmt.Sprintf("%02d", k) != s[13:] {
				t.Fatalf("valid NIR %q whose key %d does not match", s, k)
			}
		}
	})
}
