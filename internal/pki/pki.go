// Package pki is the demo's and the tests' certificate authority: one CA
// under a data directory, shared by the gateway's HTTPS and the embedded
// broker's TLS, and the server and client certificates it issues, as PEM
// files with keys readable by their owner only. A deployment brings its
// own PKI; nothing here is meant to replace it.
//
// It also names certificates the way RFC 8705 does (Thumbprint, the
// x5t#S256 of a DER certificate) and by their key (KeyThumbprint, the
// SHA-256 of the SubjectPublicKeyInfo, which a renewed certificate on the
// same key keeps).
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Validity of what the package issues: long enough that a demo data
// directory keeps working for a year, short enough that a forgotten one
// does not trust forever.
const (
	CAValidity   = 5 * 365 * 24 * time.Hour
	LeafValidity = 397 * 24 * time.Hour // the CA/Browser Forum's ceiling
)

// ErrMismatch: a certificate file and its key file are not a pair, or a
// CA file is not a CA. The files are left as they are for a person to
// look at; nothing overwrites them.
var ErrMismatch = errors.New("certificate and key do not match")

// CA is a certificate authority: its certificate and signing key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA creates a self-signed CA named name. ECDSA P-256: every TLS stack
// the members and the broker's clients use (Go, OpenSSL, Java, Python)
// takes it, which Ed25519 certificates are not yet everywhere.
func NewCA(name string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Passerelle"}},
		NotBefore:             now.Add(-time.Hour), // a clock a little behind still accepts it
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Leaf is an issued certificate and its private key.
type Leaf struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// IssueServer issues a TLS server certificate for hosts: each is an IP
// address or a DNS name, put in the subject alternative names (which is
// all a client checks; the common name is the first, for people).
func (ca *CA) IssueServer(hosts []string, now time.Time) (*Leaf, error) {
	if len(hosts) == 0 {
		return nil, errors.New("issue server certificate: no host")
	}
	tmpl := leafTemplate(hosts[0], now)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(tmpl, nil)
}

// IssueClient issues a TLS client certificate whose common name is cn
// (a member id, for people and logs: the gateway matches certificates by
// thumbprint, never by name). key, if not nil, is the key certified: a
// renewal on the same key.
func (ca *CA) IssueClient(cn string, key crypto.Signer, now time.Time) (*Leaf, error) {
	tmpl := leafTemplate(cn, now)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.issue(tmpl, key)
}

func leafTemplate(cn string, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Passerelle"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(LeafValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
}

func (ca *CA) issue(tmpl *x509.Certificate, key crypto.Signer) (*Leaf, error) {
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		key = k
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	return &Leaf{Cert: cert, Key: key}, nil
}

// serial is a random 128-bit serial number (RFC 5280 allows 20 octets;
// CAs use at least 64 random bits).
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

// Thumbprint is RFC 8705's x5t#S256 of a certificate: the base64url
// (unpadded) SHA-256 of its DER encoding.
func Thumbprint(cert *x509.Certificate) string {
	h := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// KeyThumbprint is the base64url (unpadded) SHA-256 of a certificate's
// DER SubjectPublicKeyInfo: every certificate on the same key has it.
func KeyThumbprint(cert *x509.Certificate) string {
	h := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.RawURLEncoding.EncodeToString(h[:])
}
