package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/pki"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// DefaultGatewayID is the audience of request JWTs when none is configured.
const DefaultGatewayID = "passerelle-gateway"

func runToken(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "token", "token [--data DIR] --member ID [--audience ID] [--ttl 5m] [--cert FILE]\n\nA request token works once (a replay is refused) and for at most five minutes:\nmint one per request, e.g. curl -H \"Authorization: Bearer $(passerelle token --member cnaf)\" ...")
	data := fs.String("data", ".passerelle-demo", "data directory holding the member's key")
	member := fs.String("member", "", "member id (required)")
	aud := fs.String("audience", DefaultGatewayID, "gateway id the token is for")
	ttl := fs.Duration("ttl", trust.MaxTokenTTL, "lifetime, at most 5m")
	cert := fs.String("cert", "", "bind the token to this client certificate (PEM; cnf x5t#S256, RFC 8705): the gateway then serves it only over a TLS connection presenting the certificate")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *member == "" {
		fmt.Fprintln(e.stderr, "--member is required")
		return errUsage
	}
	x5t := ""
	if *cert != "" {
		c, err := readCertificate(*cert)
		if err != nil {
			return fmt.Errorf("--cert: %w", err)
		}
		x5t = pki.Thumbprint(c)
	}
	tok, err := mintBound(datadir.Dir(*data), *member, *aud, *ttl, x5t)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, string(tok))
	return nil
}

// mint signs a request token with the member's current key in d.
func mint(d datadir.Dir, member, audience string, ttl time.Duration) ([]byte, error) {
	return mintBound(d, member, audience, ttl, "")
}

// mintBound is mint with the token bound to the certificate whose
// x5t#S256 is x5t, if not "".
func mintBound(d datadir.Dir, member, audience string, ttl time.Duration, x5t string) ([]byte, error) {
	key, err := d.Keys().Current(member)
	if err != nil {
		return nil, err
	}
	return trust.MintBoundToken(key, member, audience, ttl, time.Now(), x5t)
}

// readCertificate reads the first certificate of a PEM file.
func readCertificate(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return nil, fmt.Errorf("%s: no PEM certificate", path)
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}
