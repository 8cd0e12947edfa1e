package bus

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/passerelle-bus/passerelle/internal/config"
)

// tlsConfig builds the client side of TLS from t, reading its files once:
// a missing or unreadable file is a start-up error that names the field,
// not a handshake failure on the first write.
func tlsConfig(t *TLSConfig) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pool, err := config.CertPool(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls.ca_file: %w", ErrBadConfig, err)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := config.KeyPair(t.CertFile, t.KeyFile) // the key file 0600, as any secret
		if err != nil {
			return nil, fmt.Errorf("%w: tls.cert_file, tls.key_file: %w", ErrBadConfig, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// certCN is the subject CN of the first certificate of a PEM file.
func certCN(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return "", fmt.Errorf("%s: no PEM block", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	return cert.Subject.CommonName, nil
}
