package schemas_test

import (
	"reflect"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/schemas"
)

// The codec is tested on the real schemas: every domain's, with its
// sample record.

func catalog(t testing.TB) *schemas.Catalog {
	t.Helper()
	c, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// samples has one record per subject, its domain's sample.
var samples = func() map[string]any {
	out := map[string]any{}
	for _, d := range domains.All() {
		out[d.Subject()] = d.Sample()
	}
	return out
}()

// encoded is subject's sample encoded with its latest version.
func encoded(t testing.TB, codec *schemas.Codec, subject string) []byte {
	t.Helper()
	s, err := codec.Catalog().Subject(subject)
	if err != nil {
		t.Fatal(err)
	}
	b, err := codec.Append(nil, s.Latest(), samples[subject])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fresh returns a new zero value of the sample's type.
func fresh(sample any) any { return reflect.New(reflect.TypeOf(sample).Elem()).Interface() }
