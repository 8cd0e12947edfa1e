package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/interop"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

var specs = []trust.MemberSpec{
	{ID: "dgfip", Name: "Direction générale des Finances publiques", Roles: []string{"publisher:tax", "reader"}},
	{ID: "cnam", Name: "Caisse nationale de l'Assurance maladie", Roles: []string{"publisher:health"}},
}

// python-jwcrypto, given only the JWKS our gateway serves, verifies record
// signatures of both modes and both algorithms, and rejects tampered ones.
func TestJWCryptoVerifiesOurSignatures(t *testing.T) {
	py := interop.Python(t, "jwcrypto.jws")
	w := trusttest.New(t, specs)
	if _, err := w.Keys.Generate("dgfip", seal.ES256); err != nil { // rotate: both algs published
		t.Fatal(err)
	}
	w.Publish(t, specs)
	es256 := w.Signer(t, "dgfip")
	keys, _ := w.Keys.All("dgfip")
	var eddsa *seal.KeySigner
	for _, k := range keys {
		if s, _ := seal.NewKeySigner(k); s.Algorithm() == seal.EdDSA {
			eddsa = s
		}
	}
	srv := httptest.NewServer(gateway.NewHandler(gateway.Options{Metrics: prometheus.NewRegistry(), Trust: w.Store(t)}))
	defer srv.Close()

	type rec struct {
		Value string `json:"value"`
		Sig   string `json:"sig,omitempty"`
		Batch string `json:"batch,omitempty"`
	}
	var recs []rec
	var want []bool
	ctx := context.Background()
	vals := [][]byte{[]byte("\x00\x00\x00\x00\x03first"), []byte("\x00\x00\x00\x00\x03second"), []byte("\x00\x00\x00\x00\x03third")}
	for _, s := range []*seal.KeySigner{eddsa, es256} {
		z := seal.NewSealer(s)
		each, _ := z.SignEach(ctx, vals)
		batch, _ := z.SignBatch(ctx, vals)
		for i, v := range vals {
			enc := base64.RawURLEncoding.EncodeToString(v)
			recs = append(recs, rec{Value: enc, Sig: string(each[i])}, rec{Value: enc, Batch: string(batch[i])})
			want = append(want, true, true)
		}
		// Negative controls: another value under the same signatures.
		other := base64.RawURLEncoding.EncodeToString([]byte("forged"))
		recs = append(recs, rec{Value: other, Sig: string(each[0])}, rec{Value: other, Batch: string(batch[0])})
		want = append(want, false, false)
	}
	path := filepath.Join(t.TempDir(), "records.json")
	b, _ := json.Marshal(recs)
	os.WriteFile(path, b, 0o644)

	out, err := exec.Command(py, "testdata/jwcrypto_verify.py", srv.URL+"/v1/members/dgfip/jwks.json", path).Output()
	if err != nil {
		t.Fatalf("jwcrypto: %v\n%s", err, interop.Stderr(err))
	}
	var got []bool
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("jwcrypto printed %q", out)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d (%+v): jwcrypto says %v, want %v", i, recs[i], got[i], want[i])
		}
	}
}
