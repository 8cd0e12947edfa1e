package trust

import (
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/passerelle-bus/passerelle/internal/pki"
)

// Refusals of a request for the certificate of its connection (RFC 8705).
// Each is a 401: the token and the connection together do not prove the
// member, as a bad signature does not; RFC 8705, section 3 has a bound
// token presented without its certificate answered invalid_token.
const (
	// CertRequired: the token is bound to a certificate (cnf) and the
	// connection presented none.
	CertRequired = "certificate-required"
	// CertMismatch: the certificate presented is not one the member
	// registry lists for the token's member.
	CertMismatch = "certificate-mismatch"
	// CertNotBound: the certificate presented is not the one the token's
	// cnf names (a token minted for another certificate, an old one).
	CertNotBound = "token-certificate-mismatch"
)

// Certificate names, in the member registry, a TLS client certificate a
// member may present: exactly one of the two fields, each a base64url
// (unpadded) SHA-256.
type Certificate struct {
	// X5TS256 is RFC 8705's x5t#S256: this certificate, exactly.
	X5TS256 string `yaml:"x5t#S256,omitempty" json:"x5t#S256,omitempty"`
	// SPKIS256 is the SHA-256 of the DER SubjectPublicKeyInfo: any
	// certificate on this key, so a certificate renewed on the same key
	// works without a new registry.
	SPKIS256 string `yaml:"spki#S256,omitempty" json:"spki#S256,omitempty"`
}

// validate returns the entry's thumbprint, tagged with its kind.
func (c Certificate) validate() (string, error) {
	switch {
	case c.X5TS256 != "" && c.SPKIS256 != "":
		return "", errors.New("both x5t#S256 and spki#S256: list each as an entry of its own")
	case c.X5TS256 != "":
		return "x5t#S256:" + c.X5TS256, checkSHA256("x5t#S256", c.X5TS256)
	case c.SPKIS256 != "":
		return "spki#S256:" + c.SPKIS256, checkSHA256("spki#S256", c.SPKIS256)
	}
	return "", errors.New("x5t#S256 or spki#S256: required")
}

func checkSHA256(field, v string) error {
	b, err := strictB64.DecodeString(v)
	if err != nil || len(b) != 32 {
		return fmt.Errorf("%s: %q is not a base64url SHA-256 (43 characters, no padding)", field, v)
	}
	return nil
}

// Certificates lists the client certificates the member may present.
func (m *Member) Certificates() []Certificate { return slices.Clone(m.certs) }

// holds reports whether the registry lists cert for the member, by its
// own thumbprint or by its key's.
func (m *Member) holds(cert *x509.Certificate) bool {
	x5t, spki := pki.Thumbprint(cert), pki.KeyThumbprint(cert)
	return slices.ContainsFunc(m.certs, func(c Certificate) bool {
		return c.X5TS256 != "" && c.X5TS256 == x5t || c.SPKIS256 != "" && c.SPKIS256 == spki
	})
}

// CheckCertificate holds an authenticated caller to the certificate its
// connection presented, cert (verified against the client CA by the TLS
// layer; nil if none): a certificate presented must be one the registry
// lists for the caller, whatever the token, since a certificate that is
// somebody else's says the token travelled where it should not; a token
// bound to a certificate (cnf x5t#S256) must come over exactly that one.
// A member the registry lists certificates for must present one of them,
// bound token or not: enrolling a certificate is what makes a stolen
// bearer token useless, and it would not be if leaving the certificate
// out were enough. Other members without a cnf pass without one. The
// error is an *AuthError.
func (c Caller) CheckCertificate(cert *x509.Certificate) error {
	if cert == nil {
		if c.Confirmation != "" {
			return refuse(CertRequired, "the token is bound to certificate %s: call over a TLS connection presenting it", c.Confirmation)
		}
		if c.Member != nil && len(c.Member.certs) > 0 {
			return refuse(CertRequired, "the member registry lists certificates for %s: its calls must present one over mutual TLS", c.ID)
		}
		return nil
	}
	x5t := pki.Thumbprint(cert)
	if c.Member == nil || !c.Member.holds(cert) {
		return refuse(CertMismatch, "the certificate presented (x5t#S256 %s) is not listed for %s in the member registry", x5t, c.memberID())
	}
	if c.Confirmation != "" && subtle.ConstantTimeCompare([]byte(x5t), []byte(c.Confirmation)) != 1 {
		return refuse(CertNotBound, "the token is bound to certificate %s, the connection presented %s", c.Confirmation, x5t)
	}
	return nil
}

func (c Caller) memberID() string {
	if c.Member == nil {
		return "the caller"
	}
	return c.ID
}
