package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/memberkeys"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/transit/transittest"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Tests of this package named TestWithVault* need the real Vault: make
// test-vault runs them, test-without-vault skips them (Makefile).

// A gateway started with the vault option, its token holding only
// deploy/vault/gateway.hcl and no key file left in its data directory,
// serves a record that a connector with Vault keys (connector-tax.hcl)
// published — so both computed the same pseudonym — and signs its audit
// log with its Transit key: `passerelle audit verify` checks every event
// and the gateway's checkpoint with the public key from Vault that the
// member registry lists.
func TestWithVaultGatewayKeys(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, admin, vcfg := transittest.Root(t), transittest.Client(t), transittest.Config(t)
	tax, _ := domains.ByName("tax") // its field is what the request below asks for
	publisher := tax.Publisher.ID
	if err := memberkeys.Provision(ctx, admin, []string{publisher, gatewayMember}, domains.Names()); err != nil {
		t.Fatal(err)
	}
	transittest.LoadPolicies(t, root, "../../deploy/vault")

	// The registry lists the Vault keys of the two members that use them.
	data, dir := t.TempDir(), t.TempDir()
	d := datadir.Dir(data)
	if err := bootstrap(ctx, d); err != nil {
		t.Fatal(err)
	}
	inVault := map[string]bool{publisher: true, gatewayMember: true}
	keysOf := func(id string) (jwk.Set, error) {
		if inVault[id] {
			return seal.VaultPublicSet(ctx, admin, memberkeys.SignKeyName(id))
		}
		return d.Keys().PublicSet(id)
	}
	if _, err := publishRegistry(ctx, d, d.MemberSpecs(), time.Now(), keysOf); err != nil {
		t.Fatal(err)
	}
	for id := range inVault {
		os.RemoveAll(filepath.Join(string(d.Keys()), id))
	}
	os.RemoveAll(d.Pseudo())

	tg := bustest.Embedded(t)
	client := tg.Client(t)
	if err := client.EnsureTopics(ctx, domains.Topics(1)...); err != nil {
		t.Fatal(err)
	}

	// The tax connector, its keys in Vault, publishes a small population.
	src := tax.Synth(synth.Generate(40, 7, synth.Options{}))
	if err := connect.WriteSynthetic(ctx, tax, src, dir); err != nil {
		t.Fatal(err)
	}
	cat, err := domains.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	conVault := &memberkeys.Vault{Config: vcfg}
	conVault.Token = config.SecretValue(transittest.Token(t, root, memberkeys.ConnectorPolicyName(tax.Name)))
	c, err := connect.Open(ctx, connect.Config{Member: publisher, Domain: tax.Name, State: filepath.Join(dir, "state"),
		Kafka: bus.Config{Brokers: tg.Brokers}, Vault: conVault, Source: connect.SyntheticSource(tax, dir)},
		connect.Deps{Log: slog.New(slog.DiscardHandler), Bus: client, Codec: schemas.NewCodec(cat)})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Run(ctx, true)
	c.Close()
	if err != nil || c.Stats().Published == 0 {
		t.Fatalf("the connector published %d records: %v", c.Stats().Published, err)
	}

	gwToken := transittest.Token(t, root, memberkeys.GatewayPolicyName)
	cfg, tokenFile := filepath.Join(dir, "gateway.yaml"), filepath.Join(dir, "gateway.token")
	os.WriteFile(tokenFile, []byte(gwToken), 0o600) // a secret is never in clear in the file
	os.WriteFile(cfg, fmt.Appendf(nil, "id: %s\nlisten: 127.0.0.1:0\ndata: %s\nkafka:\n  brokers: [%q]\n"+
		"audit:\n  checkpoint_interval: 200ms\nvault:\n  address: %s\n  token: \"file:%s\"\n",
		gatewayMember, data, tg.Brokers[0], vcfg.Address, tokenFile), 0o600)
	out, w := newLines()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"gateway", "--config", cfg}, w, io.Discard); w.Close() }()
	base := out.waitFor(t, regexp.MustCompile(`listening on (http://\S+)`))[1]
	waitReady(t, ctx, http.DefaultClient, base)

	if !viewsATaxRecord(t, base, data, src.Manifest.Valid) {
		t.Fatal("no citizen's tax record reached the gateway's view: its pseudonyms differ from the connector's")
	}
	var verified string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var report strings.Builder
		code := run(ctx, []string{"audit", "verify", "--data", data, "--brokers", tg.Brokers[0], "--gateway", base}, &report, io.Discard)
		verified = report.String()
		// A checkpoint of the gateway's, found in the log and fetched from
		// the gateway, both verified with the registry's key.
		if code == exitOK && strings.Contains(verified, "by "+gatewayMember) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit verify: exit %d\n%s", code, verified)
		}
	}
	t.Log(strings.TrimSpace(verified))
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("gateway exit %d", code)
	}
}

// viewsATaxRecord asks the gateway, as cnaf, for the tax field of the
// citizens the source holds a valid row of, until one answers with it.
func viewsATaxRecord(t *testing.T, base, data string, rows []synth.ManifestEntry) bool {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, r := range rows[:min(len(rows), 5)] {
			req, _ := http.NewRequest("GET", base+"/v1/citizens/"+r.NIR+"/view?purpose=housing-aid-eligibility&fields=tax.reference_income", nil)
			req.Header.Set("Authorization", "Bearer "+mintToken(t, data))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Fields map[string]json.RawMessage `json:"fields"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK && body.Fields["tax.reference_income"] != nil {
				return true
			}
		}
	}
	return false
}
