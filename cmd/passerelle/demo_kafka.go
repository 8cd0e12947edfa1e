package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/keyfile"
	"github.com/passerelle-bus/passerelle/internal/pki"
)

// embeddedAdmin is the embedded broker's superuser: the demo itself, which
// creates the topics, the users and the ACLs, and nothing else.
const embeddedAdmin = "admin"

// demoKafka is how the demo's parts reach Kafka, and as whom.
type demoKafka struct {
	admin bus.Config // the operator: topics, users, ACLs
	// usersDir holds each component's password (DIR/<user>.password);
	// empty runs every component as admin (an external cluster whose
	// operator gave no users).
	usersDir string
	// adminPasswordFile holds the admin's password, for the command
	// lines the demo prints.
	adminPasswordFile string
	embedded          bool
}

// as is the configuration of the component that signs in as user.
func (k demoKafka) as(user string) (bus.Config, error) {
	if k.usersDir == "" {
		return k.admin, nil
	}
	pw, err := config.SecretFile(k.passwordFile(user))
	if err != nil {
		return bus.Config{}, fmt.Errorf("the password of %s: %w", user, err)
	}
	c := k.admin
	c.SASL = &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: user, Password: pw}
	return c, nil
}

// passwordFile is where user's password is: its own file, or the admin's
// when every component runs as the admin.
func (k demoKafka) passwordFile(user string) string {
	if k.usersDir == "" {
		return k.adminPasswordFile
	}
	return filepath.Join(k.usersDir, user+".password")
}

// startSecureEmbedded starts the demo's broker locked down as a real one:
// TLS with a certificate of the data directory's CA, SASL SCRAM-SHA-512
// for every client, ACLs enforced. Everything it needs is made under the
// data directory the first time and reused after.
func startSecureEmbedded(d datadir.Dir, listen string, log *slog.Logger) (*bus.Embedded, demoKafka, error) {
	now := time.Now()
	ca, err := pki.EnsureCA(d.CACert(), d.CAKey(), "Passerelle demo CA", now)
	if err != nil {
		return nil, demoKafka{}, fmt.Errorf("the data directory's CA: %w", err)
	}
	leaf, err := ca.EnsureServer(d.TLSCert(datadir.KafkaServerName), d.TLSKey(datadir.KafkaServerName), brokerHosts(listen), now)
	if err != nil {
		return nil, demoKafka{}, fmt.Errorf("the embedded broker's certificate: %w", err)
	}
	if err := os.MkdirAll(d.KafkaUsers(), 0o700); err != nil {
		return nil, demoKafka{}, err
	}
	adminPassword, err := busacl.EnsurePassword(d.KafkaPassword(embeddedAdmin))
	if err != nil {
		return nil, demoKafka{}, fmt.Errorf("the embedded broker's superuser: %w", err)
	}
	emb, err := bus.StartEmbedded(bus.EmbeddedOptions{
		Listen: listen, DataDir: d.Kafka(), Log: log,
		TLS: &tls.Config{MinVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Cert.Raw}, PrivateKey: leaf.Key, Leaf: leaf.Cert}}},
		Superuser: &bus.EmbeddedUser{Name: embeddedAdmin, Password: adminPassword},
	})
	if err != nil {
		return nil, demoKafka{}, err
	}
	return emb, demoKafka{embedded: true, usersDir: d.KafkaUsers(), adminPasswordFile: d.KafkaPassword(embeddedAdmin), admin: bus.Config{
		Brokers: []string{emb.Addr()},
		TLS:     &bus.TLSConfig{CAFile: d.CACert()},
		SASL:    &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: embeddedAdmin, Password: config.SecretValue(adminPassword)},
	}}, nil
}

// brokerHosts are the names the broker's certificate must carry: the
// loopback names, and the host it listens on when it is not a wildcard.
func brokerHosts(listen string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	host, _, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) && !slices.Contains(hosts, host) {
		hosts = append(hosts, host)
	}
	return hosts
}

// lockDown makes the embedded broker's users and ACLs those of the ACL file
// built into the binary, and writes each user's librdkafka settings. It is
// run at every start: the broker forgets its users across a restart (see
// bus.StartEmbedded), and the password files are the truth.
func lockDown(ctx context.Context, admin *bus.Client, d datadir.Dir) (*busacl.File, error) {
	f, err := busacl.Builtin()
	if err != nil {
		return nil, err
	}
	if err := busacl.SetPasswords(ctx, admin, f, d.KafkaUsers()); err != nil {
		return nil, fmt.Errorf("the embedded broker's users: %w", err)
	}
	if _, err := busacl.Apply(ctx, admin, f); err != nil {
		return nil, fmt.Errorf("the embedded broker's ACLs: %w", err)
	}
	for _, u := range f.Users {
		pw, err := busacl.EnsurePassword(d.KafkaPassword(u.Name))
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, kv := range librdkafkaSettings(admin.Brokers(), d, u.Name) {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		}
		fmt.Fprintf(&b, "sasl.password=%s\n", pw)
		if err := keyfile.WriteFile(d.KafkaProperties(u.Name), []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// librdkafkaSettings are what a librdkafka client (kcat, confluent-kafka)
// needs to sign in to the embedded broker as user, but the password.
func librdkafkaSettings(brokers []string, d datadir.Dir, user string) [][2]string {
	return [][2]string{
		{"bootstrap.servers", strings.Join(brokers, ",")},
		{"security.protocol", "SASL_SSL"},
		{"ssl.ca.location", d.CACert()},
		{"sasl.mechanisms", "SCRAM-SHA-512"},
		{"sasl.username", user},
	}
}

// kcatCommand is a kcat command line signing in as user, every setting
// shown, the password read from its file by the shell (kcat has no option
// for a password file; -F FILE with the .properties file is the other way).
func kcatCommand(brokers []string, d datadir.Dir, user, args string) string {
	var b strings.Builder
	b.WriteString("kcat")
	for _, kv := range librdkafkaSettings(brokers, d, user) {
		if kv[0] == "bootstrap.servers" {
			fmt.Fprintf(&b, " -b %s", kv[1])
			continue
		}
		fmt.Fprintf(&b, " -X %s=%s", kv[0], kv[1])
	}
	fmt.Fprintf(&b, " -X sasl.password=$(cat %s) %s", d.KafkaPassword(user), args)
	return b.String()
}

// ensureDemoTopics creates the contract's topics as the operator: under
// least privilege no component may.
func ensureDemoTopics(ctx context.Context, admin *bus.Client, partitions int) ([]bus.TopicSpec, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	topics := domains.Topics(partitions)
	return topics, admin.EnsureTopics(ctx, topics...)
}

// security says, for the printout, how the brokers are reached.
func (k demoKafka) security() string {
	switch c := k.admin; {
	case k.embedded:
		return "TLS, SCRAM-SHA-512, ACLs of deploy/kafka/acls.yaml"
	case c.TLS != nil && c.SASL != nil:
		return "TLS, SCRAM-SHA-512"
	case c.TLS != nil:
		return "TLS"
	default:
		return "plaintext"
	}
}

// cliArgs are the passerelle flags that reach the brokers as user.
func (k demoKafka) cliArgs(user string) string {
	c := k.admin
	args := []string{"--brokers", strings.Join(c.Brokers, ",")}
	if t := c.TLS; t != nil {
		if t.CAFile != "" {
			args = append(args, "--kafka-ca", t.CAFile)
		}
		if t.CertFile != "" {
			args = append(args, "--kafka-cert", t.CertFile, "--kafka-key", t.KeyFile)
		}
	}
	if s := c.SASL; s != nil {
		if k.usersDir != "" {
			s = &bus.SASLConfig{Username: user}
		}
		args = append(args, "--kafka-user", s.Username, "--kafka-password-file", k.passwordFile(user))
	}
	return strings.Join(args, " ")
}

// kcatHelp is the printout's paragraph on reading the bus with a stock
// Kafka client, as the auditor: all it may read is the audit trail.
func (k demoKafka) kcatHelp(d datadir.Dir) string {
	brokers := k.admin.Brokers
	if !k.embedded {
		if k.admin.TLS == nil && k.admin.SASL == nil {
			return "  kcat -b " + brokers[0] + " -L\n"
		}
		return ""
	}
	user := busacl.AuditorUser
	return fmt.Sprintf(`
Read the bus with any Kafka client, as the auditor, who may read the audit
trail and nothing else (each component has its own user, with the rights
deploy/kafka/acls.yaml gives it). The settings, every one shown:
  %s
and in a librdkafka properties file, password included (kcat -F FILE):
  kcat -F %s -C -t %s -f 'offset %%o: %%S bytes, key %%k\n' -c 3 -e
`, kcatCommand(brokers, d, user, "-L"), d.KafkaProperties(user), bus.TopicAudit)
}

// kcatDeadLetters is how to read the tax connector's dead letters: as that
// connector, the one principal that may.
func (k demoKafka) kcatDeadLetters(d datadir.Dir) string {
	topic := bus.DLQTopic("tax")
	if !k.embedded {
		return "kcat -b " + k.admin.Brokers[0] + " -C -t " + topic + " -e"
	}
	return "kcat -F " + d.KafkaProperties(busacl.ConnectorUser("tax")) + " -C -t " + topic + " -e"
}
