package busacl_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/interop"
)

// The stock tools, with the settings bustest gives them (mutual TLS as the
// principal), see and read exactly what the ACL file gives the principal,
// on the shared locked-down broker: Debian's kcat lists the gateway's
// topics and only those, consumes a domain topic and is refused the dead
// letters; the stock Confluent Python client likewise; and an auditor
// cannot even produce a forged audit event.
func TestStockClientsSeeWhatTheFileAllows(t *testing.T) {
	tg := bustest.Real(t)
	if tg.Security == nil {
		t.Skip("the broker is not locked down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := tg.Client(t).EnsureTopics(ctx, domains.Topics(1)...); err != nil {
		t.Fatal(err)
	}
	f := tg.ApplyACLs(t)
	tax, _ := domains.ByName("tax")
	var visible []string // every topic of the cluster the gateway may describe
	for _, s := range domains.Topics(1) {
		if f.Allows("User:gateway", "topic", s.Name, "Describe") {
			visible = append(visible, s.Name)
		}
	}
	slices.Sort(visible)
	readable, refused := tax.Topic(), tax.DeadLetters()

	t.Run("kcat", func(t *testing.T) {
		kcat := interop.Kcat(t)
		args := tg.KcatArgs(t, "gateway")
		out, err := exec.CommandContext(ctx, kcat, append(args, "-L", "-J")...).Output()
		if err != nil {
			t.Fatalf("kcat -L: %v: %s", err, interop.Stderr(err))
		}
		var md struct{ Topics []struct{ Topic string } }
		if err := json.Unmarshal(out, &md); err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, tp := range md.Topics {
			if !strings.HasPrefix(tp.Topic, "__") {
				listed = append(listed, tp.Topic)
			}
		}
		slices.Sort(listed)
		if !slices.Equal(listed, visible) {
			t.Errorf("kcat -L as the gateway lists %v, the file gives %v", listed, visible)
		}
		if out, err := exec.CommandContext(ctx, kcat, append(args, "-C", "-t", readable, "-o", "beginning", "-e", "-q")...).CombinedOutput(); err != nil {
			t.Errorf("kcat could not consume %s as the gateway: %v: %s", readable, err, out)
		}
		out, err = exec.CommandContext(ctx, kcat, append(args, "-C", "-t", refused, "-o", "beginning", "-e", "-q")...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "authoriz") {
			t.Errorf("kcat consumed %s as the gateway: %v: %s", refused, err, out)
		}
		// A forged audit event, from a principal that may read the trail.
		file := filepath.Join(t.TempDir(), "event")
		os.WriteFile(file, []byte(`{"id":"forged","kind":"view","requester":"cnaf","decision":"allow"}`), 0o600)
		out, err = exec.CommandContext(ctx, kcat, append(tg.KcatArgs(t, "auditor"), "-P", "-t", "passerelle.audit.v1", "-p", "0", "-k", "forged", file)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "authoriz") {
			t.Errorf("the auditor produced to the audit topic: %v: %s", err, out)
		}
	})

	t.Run("confluent-kafka", func(t *testing.T) {
		py := interop.Python(t, "confluent_kafka")
		args := []string{"testdata/stock_client.py", readable + "," + refused}
		for k, v := range tg.Librdkafka(t, "gateway") {
			args = append(args, k+"="+v)
		}
		out, err := exec.CommandContext(ctx, py, args...).Output()
		if err != nil {
			t.Fatalf("stock client: %v\n%s", err, interop.Stderr(err))
		}
		var got struct {
			Listed []string
			Reads  map[string]string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !slices.Equal(got.Listed, visible) {
			t.Errorf("the Python client lists %v as the gateway, the file gives %v", got.Listed, visible)
		}
		if got.Reads[readable] != "ok" || got.Reads[refused] != "TOPIC_AUTHORIZATION_FAILED" {
			t.Errorf("reads as the gateway: %v", got.Reads)
		}
	})
}
