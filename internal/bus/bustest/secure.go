package bustest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/config"
)

// The settings deploy/local/kafka.sh prints for its locked-down broker.
const (
	EnvCA           = "PASSERELLE_KAFKA_CA"
	EnvCAKey        = "PASSERELLE_KAFKA_CA_KEY"
	EnvUser         = "PASSERELLE_KAFKA_USER"
	EnvPasswordFile = "PASSERELLE_KAFKA_PASSWORD_FILE"
	EnvMTLSBrokers  = "PASSERELLE_KAFKA_MTLS_BROKERS"
)

// Security is how a test reaches a locked-down real broker: as its
// superuser over SASL_SSL, or as any principal over mutual TLS with a
// certificate the test issues from the local CA.
type Security struct {
	CAFile, CAKeyFile string
	User, Password    string
	PasswordFile      string
	MTLSBrokers       []string
}

// securityFrom reads the settings from a lookup (the environment, or the
// lines a private broker printed). Nil when the broker is plaintext.
func securityFrom(get func(string) string) (*Security, error) {
	if get(EnvCA) == "" {
		return nil, nil
	}
	pw, err := os.ReadFile(get(EnvPasswordFile))
	if err != nil {
		return nil, err
	}
	s := &Security{CAFile: get(EnvCA), CAKeyFile: get(EnvCAKey), User: get(EnvUser),
		Password: strings.TrimSpace(string(pw)), PasswordFile: get(EnvPasswordFile)}
	if v := get(EnvMTLSBrokers); v != "" {
		s.MTLSBrokers = strings.Split(v, ",")
	}
	return s, nil
}

// Config is the bus configuration of the broker's superuser.
func (tg Target) Config() bus.Config {
	c := bus.Config{Brokers: tg.Brokers}
	if s := tg.Security; s != nil {
		c.TLS = &bus.TLSConfig{CAFile: s.CAFile}
		c.SASL = &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: s.User, Password: config.SecretValue(s.Password)}
	}
	return c
}

// KafkaYAML is Config as the kafka: block of a configuration file, indented
// by indent spaces, for tests that start the passerelle binary.
func (tg Target) KafkaYAML(indent int) string {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString(pad + "brokers: [" + strings.Join(tg.Brokers, ", ") + "]\n")
	if s := tg.Security; s != nil {
		b.WriteString(pad + "tls: {ca_file: " + s.CAFile + "}\n")
		b.WriteString(pad + "sasl: {mechanism: SCRAM-SHA-512, username: " + s.User + ", password: \"file:" + s.PasswordFile + "\"}\n")
	}
	return b.String()
}

// CLIArgs are the passerelle command-line flags that reach the broker as
// its superuser, every one given (empty when unused).
func (tg Target) CLIArgs() []string {
	args := []string{"--brokers", strings.Join(tg.Brokers, ",")}
	if s := tg.Security; s != nil {
		args = append(args, "--kafka-ca", s.CAFile, "--kafka-user", s.User, "--kafka-password-file", s.PasswordFile)
	}
	return args
}

// CertFor issues a client certificate for principal from the local CA, for
// the mutual-TLS listener, and returns the PEM files of the certificate and
// its key. It fails the test on a plaintext broker.
func (tg Target) CertFor(t testing.TB, principal string) (certFile, keyFile string) {
	t.Helper()
	s := tg.Security
	if s == nil || s.CAKeyFile == "" {
		t.Fatalf("broker %s has no CA to issue certificates from", tg.Name)
	}
	ca, caKey := loadCA(t, s.CAFile, s.CAKeyFile)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: principal},
		NotBefore:    time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, principal+".crt"), filepath.Join(dir, principal+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// MTLSConfig is the bus configuration of principal over mutual TLS.
func (tg Target) MTLSConfig(t testing.TB, principal string) bus.Config {
	t.Helper()
	cert, key := tg.CertFor(t, principal)
	return bus.Config{Brokers: tg.Security.MTLSBrokers,
		TLS: &bus.TLSConfig{CAFile: tg.Security.CAFile, CertFile: cert, KeyFile: key}}
}

// Librdkafka is the configuration of a librdkafka client (kcat, the
// Confluent Python client) connecting as principal: over mutual TLS on a
// locked-down broker, plainly otherwise. Debian's librdkafka (2.0.2) cannot
// use SCRAM with Kafka 4 (librdkafka#4895), hence certificates.
func (tg Target) Librdkafka(t testing.TB, principal string) map[string]string {
	t.Helper()
	if tg.Security == nil {
		return map[string]string{"bootstrap.servers": strings.Join(tg.Brokers, ",")}
	}
	cert, key := tg.CertFor(t, principal)
	return map[string]string{"bootstrap.servers": strings.Join(tg.Security.MTLSBrokers, ","),
		"security.protocol": "SSL", "ssl.ca.location": tg.Security.CAFile,
		"ssl.certificate.location": cert, "ssl.key.location": key}
}

// KcatArgs are Librdkafka as kcat's -X arguments, in a stable order.
func (tg Target) KcatArgs(t testing.TB, principal string) []string {
	t.Helper()
	conf := tg.Librdkafka(t, principal)
	var args []string
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		args = append(args, "-X", k+"="+conf[k])
	}
	return args
}

func loadCA(t testing.TB, certFile, keyFile string) (*x509.Certificate, any) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return ca, pair.PrivateKey
}

// ACLFile is the bus's ACL file, found from the test's directory.
func ACLFile(t testing.TB) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "deploy", "kafka", "acls.yaml")
}

// ApplyACLs makes a locked-down broker's ACLs those of the ACL file, so
// that its principals have exactly their rights. Idempotent, and harmless
// to tests beside: they run as the superuser.
func (tg Target) ApplyACLs(t testing.TB) *busacl.File {
	t.Helper()
	f, err := busacl.Load(ACLFile(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := busacl.Apply(ctx, tg.Client(t), f); err != nil {
		t.Fatal(err)
	}
	return f
}

// ConfigAs is the bus configuration of principal on a locked-down broker:
// SCRAM-SHA-512 over TLS, its credential set to a fresh password by the
// superuser. With the ACL file applied (ApplyACLs), the principal then has
// exactly its rights. On a plaintext broker it is Config: there are no
// principals.
func (tg Target) ConfigAs(t testing.TB, principal string) bus.Config {
	t.Helper()
	c := tg.Config()
	if tg.Security == nil {
		return c
	}
	pw := make([]byte, 16)
	rand.Read(pw)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tg.Client(t).SetSCRAMPassword(ctx, principal, hex.EncodeToString(pw)); err != nil {
		t.Fatal(err)
	}
	c.SASL = &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: principal, Password: config.SecretValue(hex.EncodeToString(pw))}
	return c
}
