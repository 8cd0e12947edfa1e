package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/passerelle-bus/passerelle/internal/config"
)

// Client authentication policies of TLSConfig.ClientAuth.
const (
	// ClientAuthNone asks for no client certificate; a token bound to one
	// (cnf) is then refused, certificate-required.
	ClientAuthNone = "none"
	// ClientAuthOptional verifies a certificate a client presents against
	// the client CA, and serves a client that presents none: a presented
	// certificate must be the token's member's, a bound token must come
	// over its certificate, a member with none listed calls as before.
	ClientAuthOptional = "optional"
	// ClientAuthRequired refuses, at the handshake, a connection without
	// a certificate the client CA signed: public routes included, and
	// every member calling needs its certificates in the registry.
	ClientAuthRequired = "required"
)

// TLSConfig is the gateway's HTTPS: its certificate, and mutual TLS with
// members (docs/DESIGN.md, "HTTP API").
type TLSConfig struct {
	// CertFile is the server's certificate chain, PEM, leaf first;
	// KeyFile its private key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile holds the CA certificates, PEM, that client
	// certificates must chain to.
	ClientCAFile string `yaml:"client_ca_file"`
	// ClientAuth is none (the default), optional or required.
	ClientAuth string `yaml:"client_auth"`
}

// Validate checks the section as written; the files are read at start
// (ServerConfig), so that an example configuration validates on a
// machine that does not have them.
func (c *TLSConfig) Validate() error {
	switch {
	case c.CertFile == "":
		return errors.New("tls.cert_file: required")
	case c.KeyFile == "":
		return errors.New("tls.key_file: required")
	}
	switch c.ClientAuth {
	case "", ClientAuthNone:
		if c.ClientCAFile != "" {
			return fmt.Errorf("tls.client_auth: %s, yet tls.client_ca_file is set: say %s or %s", c.mode(), ClientAuthOptional, ClientAuthRequired)
		}
	case ClientAuthOptional, ClientAuthRequired:
		if c.ClientCAFile == "" {
			return fmt.Errorf("tls.client_ca_file: required when tls.client_auth is %s", c.ClientAuth)
		}
	default:
		return fmt.Errorf("tls.client_auth: %q, want %s, %s or %s", c.ClientAuth, ClientAuthNone, ClientAuthOptional, ClientAuthRequired)
	}
	return nil
}

func (c *TLSConfig) mode() string {
	if c.ClientAuth == "" {
		return ClientAuthNone
	}
	return c.ClientAuth
}

// ServerConfig reads the files and returns the server side of TLS: TLS
// 1.2 at least (1.3 when the client has it, which Go prefers), Go's
// cipher suites, which are the ones without known weaknesses, with
// forward secrecy, in a safe order. A file that is missing or wrong is an
// error naming its field, at start rather than at the first handshake.
func (c *TLSConfig) ServerConfig() (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cert, err := config.KeyPair(c.CertFile, c.KeyFile) // the key file 0600, as any secret
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	switch c.mode() {
	case ClientAuthOptional:
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case ClientAuthRequired:
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return tc, nil
	}
	pool, err := config.CertPool(c.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("tls.client_ca_file: %w", err)
	}
	tc.ClientCAs = pool
	return tc, nil
}
