package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/interop"
)

// checkDemoLockedDown holds the running demo's embedded broker to the ACL
// file: no plaintext, no anonymous client, a connector writes its own
// domain and reads none, the gateway writes no domain, and the kcat lines
// the demo printed work as printed for what the auditor may read, and for
// nothing else.
func checkDemoLockedDown(t *testing.T, d datadir.Dir, brokers, kcatList, kcatConsume string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr := strings.Split(brokers, ",")
	tax, _ := domains.ByName("tax")
	hr, _ := domains.ByName("hr")
	as := func(user string) bus.Config {
		pw, err := config.SecretFile(d.KafkaPassword(user))
		if err != nil {
			t.Fatal(err)
		}
		return bus.Config{Brokers: addr, TLS: &bus.TLSConfig{CAFile: d.CACert()},
			SASL: &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: user, Password: pw}}
	}
	for _, tc := range []struct {
		name  string
		cfg   bus.Config
		write string // a topic to write to, or "" to read tax's
	}{
		{"plaintext", bus.Config{Brokers: addr}, ""},
		{"TLS without signing in", bus.Config{Brokers: addr, TLS: &bus.TLSConfig{CAFile: d.CACert()}}, ""},
		{"the tax connector reads its domain", as(busacl.ConnectorUser("tax")), ""},
		{"the tax connector writes another domain", as(busacl.ConnectorUser("tax")), hr.Topic()},
		{"the gateway writes a domain", as(busacl.GatewayUser), tax.Topic()},
		{"the auditor reads a domain", as(busacl.AuditorUser), ""},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			tc.cfg.DialTimeout = 2 * time.Second
			c, err := bus.New(tc.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if tc.write != "" {
				w := c.NewWriter(nil)
				defer w.Close()
				// A value no decoder takes, were it taken: the test must see a refusal.
				if err := w.Write(ctx, bus.Message{Topic: tc.write, Key: []byte("test"), Value: []byte("refused")}); err == nil {
					t.Fatalf("wrote to %s", tc.write)
				}
				return
			}
			if msgs, _, err := c.Fetch(ctx, tax.Topic(), 0, 0, time.Second); err == nil {
				t.Fatalf("read %d records of %s", len(msgs), tax.Topic())
			}
		})
	}

	interop.Kcat(t)
	kcat := func(line string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "bash", "-c", line).CombinedOutput()
		return string(out), err
	}
	t.Run("kcat lists what the auditor may see", func(t *testing.T) {
		out, err := kcat(kcatList)
		if err != nil || !strings.Contains(out, `topic "`+bus.TopicAudit+`"`) || strings.Contains(out, tax.Topic()) {
			t.Fatalf("%s: %v\n%s", kcatList, err, out)
		}
	})
	t.Run("kcat reads the audit trail", func(t *testing.T) {
		out, err := kcat(kcatConsume)
		if err != nil || !strings.Contains(out, "offset 0: ") {
			t.Fatalf("%s: %v\n%s", kcatConsume, err, out)
		}
	})
	t.Run("kcat reads no domain", func(t *testing.T) {
		line := strings.TrimSuffix(kcatList, " -L") + " -C -t " + tax.Topic() + " -e"
		out, err := kcat(line)
		if err == nil || !strings.Contains(out, "authorization failed") {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	})
}
