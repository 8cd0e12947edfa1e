package bus_test

import (
	"context"
	"crypto/tls"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/interop"
	"github.com/passerelle-bus/passerelle/internal/pki"
)

// secureEmbedded starts a locked-down embedded broker on dir (its log in
// dir/kafka, its CA in dir/tls) with superuser admin/adminpw, and returns
// it with the CA file clients trust.
func secureEmbedded(t *testing.T, dir, listen, adminPassword string) (*bus.Embedded, string) {
	t.Helper()
	now := time.Now()
	caFile := filepath.Join(dir, "tls", "ca.crt")
	ca, err := pki.EnsureCA(caFile, filepath.Join(dir, "tls", "ca.key"), "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.EnsureServer(filepath.Join(dir, "tls", "kafka.crt"), filepath.Join(dir, "tls", "kafka.key"), []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	e, err := bus.StartEmbedded(bus.EmbeddedOptions{
		Listen: listen, DataDir: filepath.Join(dir, "kafka"),
		TLS:       &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Cert.Raw}, PrivateKey: leaf.Key}}},
		Superuser: &bus.EmbeddedUser{Name: "admin", Password: adminPassword},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, caFile
}

func client(t *testing.T, cfg bus.Config) *bus.Client {
	t.Helper()
	cfg.DialTimeout = 2 * time.Second
	c, err := bus.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func scram(user, password string) *bus.SASLConfig {
	return &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: user, Password: config.SecretValue(password)}
}

// A locked-down embedded broker refuses plaintext, unauthenticated and
// wrongly authenticated clients, lets its superuser create users and ACLs
// through the protocol, and holds those users to their ACLs.
func TestEmbeddedLockedDown(t *testing.T) {
	dir := t.TempDir()
	e, caFile := secureEmbedded(t, dir, "127.0.0.1:0", "adminpw")
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr := []string{e.Addr()}
	tlsCA := &bus.TLSConfig{CAFile: caFile}

	admin := client(t, bus.Config{Brokers: addr, TLS: tlsCA, SASL: scram("admin", "adminpw")})
	if err := admin.Ping(ctx); err != nil {
		t.Fatalf("the superuser over TLS: %v", err)
	}
	const mine, theirs = "test.mine", "test.theirs"
	if err := admin.EnsureTopics(ctx, bus.TopicSpec{Name: mine, Partitions: 1}, bus.TopicSpec{Name: theirs, Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetSCRAMPassword(ctx, "writer", "writerpw"); err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateACLs(ctx, []bus.ACL{{Principal: "User:writer", Resource: "topic", Name: mine, Pattern: "literal", Operation: "Write"}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		cfg  bus.Config
	}{
		{"plaintext", bus.Config{Brokers: addr}},
		{"plaintext with a password", bus.Config{Brokers: addr, SASL: scram("admin", "adminpw")}},
		{"TLS without SASL", bus.Config{Brokers: addr, TLS: tlsCA}},
		{"a wrong password", bus.Config{Brokers: addr, TLS: tlsCA, SASL: scram("admin", "nope")}},
		{"an unknown user", bus.Config{Brokers: addr, TLS: tlsCA, SASL: scram("nobody", "adminpw")}},
		{"a CA it does not trust", bus.Config{Brokers: addr, TLS: &bus.TLSConfig{}, SASL: scram("admin", "adminpw")}},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			w := client(t, tc.cfg).NewWriter(nil)
			defer w.Close()
			if err := w.Write(ctx, bus.Message{Topic: mine, Value: []byte("x")}); err == nil {
				t.Fatal("the broker took a record")
			}
		})
	}

	writer := client(t, bus.Config{Brokers: addr, TLS: tlsCA, SASL: scram("writer", "writerpw")})
	for _, tc := range []struct {
		topic string
		allow bool
	}{{mine, true}, {theirs, false}} {
		t.Run("writer writes "+tc.topic, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			w := writer.NewWriter(nil)
			defer w.Close()
			err := w.Write(ctx, bus.Message{Topic: tc.topic, Value: []byte("x")})
			if tc.allow != (err == nil) {
				t.Fatalf("allowed %v, got %v", tc.allow, err)
			}
		})
	}
	t.Run("writer reads nothing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, _, err := writer.Fetch(ctx, mine, 0, 0, time.Second); err == nil {
			t.Fatal("a writer read the topic")
		}
	})
}

// Restarted on the same data directory, the broker keeps its log and its
// ACLs but forgets its SASL users: the superuser is the one given now, even
// with a new password, and the others are given theirs again.
func TestEmbeddedRestartKeepsACLsNotUsers(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, caFile := secureEmbedded(t, dir, "127.0.0.1:0", "first")
	addr := e.Addr()
	tlsCA := &bus.TLSConfig{CAFile: caFile}
	admin := client(t, bus.Config{Brokers: []string{addr}, TLS: tlsCA, SASL: scram("admin", "first")})
	acl := bus.ACL{Principal: "User:writer", Resource: "topic", Name: "test.mine", Pattern: "literal", Operation: "Write"}
	if err := admin.SetSCRAMPassword(ctx, "writer", "writerpw"); err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateACLs(ctx, []bus.ACL{acl}); err != nil {
		t.Fatal(err)
	}
	e.Close()

	e, _ = secureEmbedded(t, dir, addr, "second")
	defer e.Close()
	admin = client(t, bus.Config{Brokers: []string{addr}, TLS: tlsCA, SASL: scram("admin", "second")})
	acls, err := admin.ACLs(ctx, "User:writer")
	if err != nil {
		t.Fatalf("the superuser with its new password: %v", err)
	}
	if len(acls) != 1 || acls[0] != acl {
		t.Errorf("ACLs after a restart: %v, want [%v]", acls, acl)
	}
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	if err := client(t, bus.Config{Brokers: []string{addr}, TLS: tlsCA, SASL: scram("writer", "writerpw")}).Ping(cctx); err == nil {
		t.Error("a user of the last run signed in before its password was given again")
	}
}

// Debian's kcat (librdkafka 2.0.2) signs in to the locked-down broker with
// SCRAM-SHA-512 over TLS, and with a wrong password does not.
func TestEmbeddedAdmitsLibrdkafka(t *testing.T) {
	kcat := interop.Kcat(t)
	e, caFile := secureEmbedded(t, t.TempDir(), "127.0.0.1:0", "adminpw")
	defer e.Close()
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"adminpw", true}, {"nope", false}} {
		t.Run(tc.password, func(t *testing.T) {
			out, err := exec.Command(kcat, "-b", e.Addr(), "-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location="+caFile,
				"-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=admin", "-X", "sasl.password="+tc.password,
				"-m", "5", "-L").CombinedOutput()
			if ok := err == nil && strings.Contains(string(out), "1 brokers"); ok != tc.ok {
				t.Fatalf("signed in: %v, want %v (%v)\n%s", ok, tc.ok, err, out)
			}
		})
	}
}
