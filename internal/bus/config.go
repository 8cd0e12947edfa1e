package bus

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/config"
)

// Defaults, named so that documentation and validation agree.
const (
	DefaultDialTimeout       = 5 * time.Second
	DefaultReplicationFactor = 1
	DefaultClientID          = "passerelle"
)

// Config is how Passerelle reaches a Kafka cluster.
type Config struct {
	// Brokers are bootstrap addresses, host:port; an entry may list
	// several, comma-separated, as one environment variable gives them.
	Brokers []string `yaml:"brokers"`
	// ClientID identifies this process in the brokers' logs and quotas.
	ClientID string `yaml:"client_id"`
	// DialTimeout bounds connecting to a broker, SASL included.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ReplicationFactor is used for topics Passerelle creates: 3 in
	// production, 1 on a single local broker.
	ReplicationFactor int `yaml:"replication_factor"`
	// SASL, when set, authenticates every connection.
	SASL *SASLConfig `yaml:"sasl"`
	// TLS, when set, encrypts every connection and authenticates the
	// brokers; with a client certificate, this process too.
	TLS *TLSConfig `yaml:"tls"`
}

// TLSConfig is how a client trusts the brokers and, for mutual TLS, proves
// who it is. TLS 1.2 is the floor: 1.3 is negotiated where both ends allow.
type TLSConfig struct {
	// CAFile is a PEM bundle of the authorities that sign the brokers'
	// certificates; empty trusts the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that authenticate clients by certificate.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates
	// (by default the host of the address dialled).
	ServerName string `yaml:"server_name"`
}

// SASLConfig holds SASL credentials.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	// Password is ${VAR} or file:PATH in a file, never written in clear.
	Password config.Secret `yaml:"password"`
}

// Principal names who this configuration signs in as, the way the broker's
// ACLs name it: the SCRAM user, or the CN of the client certificate (the
// mapping rule of deploy/local/kafka.sh), or ANONYMOUS.
func (c Config) Principal() string {
	if c.SASL != nil {
		return "User:" + c.SASL.Username
	}
	if c.TLS != nil && c.TLS.CertFile != "" {
		if cn, err := certCN(c.TLS.CertFile); err == nil {
			return "User:" + cn
		}
	}
	return "User:ANONYMOUS"
}

// withDefaults returns a copy with zero fields set to their defaults and
// comma-separated broker entries split.
func (c Config) withDefaults() Config {
	c.Brokers = splitBrokers(c.Brokers)
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = DefaultReplicationFactor
	}
	return c
}

// splitBrokers splits entries that list several brokers.
func splitBrokers(in []string) []string {
	var out []string
	for _, e := range in {
		for b := range strings.SplitSeq(e, ",") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// Validate reports the first invalid field, by name.
func (c Config) Validate() error {
	c.Brokers = splitBrokers(c.Brokers)
	if len(c.Brokers) == 0 {
		return fmt.Errorf("%w: brokers: at least one host:port is required", ErrBadConfig)
	}
	for i, b := range c.Brokers {
		if err := validAddr(b); err != nil {
			return fmt.Errorf("%w: brokers[%d] %q: %v", ErrBadConfig, i, b, err)
		}
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("%w: dial_timeout: must not be negative", ErrBadConfig)
	}
	if c.ReplicationFactor < 0 {
		return fmt.Errorf("%w: replication_factor: must not be negative", ErrBadConfig)
	}
	if s := c.SASL; s != nil {
		switch s.Mechanism {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			return fmt.Errorf("%w: sasl.mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", ErrBadConfig, s.Mechanism)
		}
		if s.Username == "" {
			return fmt.Errorf("%w: sasl.username: required", ErrBadConfig)
		}
		if s.Password.IsZero() {
			return fmt.Errorf("%w: sasl.password: required, as ${VAR} or file:PATH", ErrBadConfig)
		}
	}
	if t := c.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("%w: tls.cert_file and tls.key_file: give both or neither", ErrBadConfig)
	}
	return nil
}

func validAddr(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("missing host")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}
