package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/passerelle-bus/passerelle/internal/keyfile"
)

// renewBefore: a server certificate this close to its end is issued
// again rather than served until a client refuses it.
const renewBefore = 30 * 24 * time.Hour

// EnsureCA loads the CA at certPath and keyPath, or creates it there if
// neither exists: the data directory's one CA, which every part that
// needs one asks for (the gateway's HTTPS, the embedded broker's TLS), so
// one --cacert trusts them all. Half a CA (one file without the other)
// is an error, not a reason to make a new one: certificates it issued
// would stop verifying.
func EnsureCA(certPath, keyPath, name string, now time.Time) (*CA, error) {
	_, errC := os.Stat(certPath)
	_, errK := os.Stat(keyPath)
	switch {
	case errC == nil && errK == nil:
		return LoadCA(certPath, keyPath)
	case errors.Is(errC, fs.ErrNotExist) && errors.Is(errK, fs.ErrNotExist):
	case errC != nil && !errors.Is(errC, fs.ErrNotExist):
		return nil, fmt.Errorf("CA certificate: %w", errC)
	case errK != nil && !errors.Is(errK, fs.ErrNotExist):
		return nil, fmt.Errorf("CA key: %w", errK)
	default:
		return nil, fmt.Errorf("CA %s and %s: one exists without the other; remove both to start a new CA", certPath, keyPath)
	}
	ca, err := NewCA(name, now)
	if err != nil {
		return nil, err
	}
	// The key first: a crash between the two leaves a key without a
	// certificate, which the next start reports rather than trusts.
	if err := writePEM(keyPath, "PRIVATE KEY", mustPKCS8(ca.Key), 0o600); err != nil {
		return nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", ca.Cert.Raw, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// LoadCA reads a CA written by EnsureCA (or by openssl: a PEM certificate
// and a PKCS#8, EC or PKCS#1 key).
func LoadCA(certPath, keyPath string) (*CA, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("load CA %s: %w", certPath, err)
	}
	cert, key := pair.Leaf, pair.PrivateKey.(crypto.Signer)
	if !cert.IsCA {
		return nil, fmt.Errorf("load CA %s: %w: not a CA certificate", certPath, ErrMismatch)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// EnsureServer keeps a server certificate for hosts at certPath and
// keyPath: the one there if this CA issued it, it names every host and it
// is not about to expire; else a new one (on a new key). Only files this
// function wrote are replaced, so a certificate a person put there from
// another CA is reported, not overwritten.
func (ca *CA) EnsureServer(certPath, keyPath string, hosts []string, now time.Time) (*Leaf, error) {
	if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		cert := pair.Leaf
		if cert.CheckSignatureFrom(ca.Cert) != nil {
			return nil, fmt.Errorf("server certificate %s: not issued by the CA %s; remove it to have a new one issued", certPath, ca.Cert.Subject.CommonName)
		}
		if covers(cert, hosts) && now.Add(renewBefore).Before(cert.NotAfter) {
			return &Leaf{Cert: cert, Key: pair.PrivateKey.(crypto.Signer)}, nil
		}
	} else if _, statErr := os.Stat(certPath); statErr == nil {
		if _, keyErr := os.Stat(keyPath); keyErr == nil {
			return nil, fmt.Errorf("server certificate %s: %w", certPath, err)
		}
	}
	leaf, err := ca.IssueServer(hosts, now)
	if err != nil {
		return nil, err
	}
	if err := leaf.Write(certPath, keyPath); err != nil {
		return nil, err
	}
	return leaf, nil
}

// covers: the certificate names every host (an IP address as an IP SAN).
func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(cert.DNSNames, h) {
			return false
		}
	}
	return true
}

// Write writes the certificate (0644) and its key (0600) as PEM, the key
// first, each atomically.
func (l *Leaf) Write(certPath, keyPath string) error {
	if err := writePEM(keyPath, "PRIVATE KEY", mustPKCS8(l.Key), 0o600); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", l.Cert.Raw, 0o644)
}

// CertPEM is the PEM encoding of a certificate.
func CertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

func mustPKCS8(key crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		// Only keys this package generated or loaded reach here: ECDSA,
		// Ed25519 or RSA, all of which PKCS#8 encodes.
		panic(fmt.Sprintf("pki: encode key %T: %v", key, err))
	}
	return der
}

// writePEM writes one PEM block atomically with mode perm, creating the
// directory (0700: it holds keys).
func writePEM(path, typ string, der []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return keyfile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), perm)
}
