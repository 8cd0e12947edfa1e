package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/pki"
)

// gatewayClient calls the gateway as a member, with a fresh token a call.
type gatewayClient struct {
	base, member, audience string
	data                   datadir.Dir
	tls                    gatewayTLS
	hc                     *http.Client // made at the first call
	x5t                    string       // of the client certificate, which tokens are bound to
}

// gatewayTLS is how a command reaches a gateway over HTTPS: the CA it
// trusts, and the client certificate it presents, if any.
type gatewayTLS struct {
	cacert, cert, key string
}

func (t *gatewayTLS) flags(fs *flag.FlagSet) {
	fs.StringVar(&t.cacert, "cacert", "", "CA certificate (PEM) the gateway's HTTPS certificate must chain to (default: DIR/tls/ca.crt, the demo's CA, when it exists; else the system's)")
	fs.StringVar(&t.cert, "cert", "", "client certificate (PEM) to present, for a gateway doing mutual TLS; the request tokens are then bound to it (cnf x5t#S256)")
	fs.StringVar(&t.key, "key", "", "the client certificate's private key (PEM)")
}

// client builds the HTTP client: TLS 1.2 at least, the CA named or the
// data directory's, and the client certificate. It returns also the
// certificate's x5t#S256, which tokens are bound to.
func (t gatewayTLS) client(d datadir.Dir) (*http.Client, string, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	ca := t.cacert
	if ca == "" {
		if _, err := os.Stat(d.CACert()); err == nil {
			ca = d.CACert()
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("--cacert: %w", err)
		}
	}
	if ca != "" {
		pool, err := config.CertPool(ca)
		if err != nil {
			return nil, "", fmt.Errorf("--cacert: %w", err)
		}
		tc.RootCAs = pool
	}
	x5t := ""
	switch {
	case t.cert != "" && t.key != "":
		pair, err := config.KeyPair(t.cert, t.key) // the key file 0600, as any secret
		if err != nil {
			return nil, "", fmt.Errorf("--cert, --key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
		x5t = pki.Thumbprint(pair.Leaf)
	case t.cert != "" || t.key != "":
		return nil, "", errors.New("--cert and --key go together")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr}, x5t, nil
}

func (g *gatewayClient) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return g.do(ctx, http.MethodGet, path, nil, "application/json")
}

// do sends a request as the member, with a fresh token, and returns the
// answer's body; a problem document becomes the error.
func (g *gatewayClient) do(ctx context.Context, method, path string, body []byte, accept string) ([]byte, error) {
	if g.hc == nil {
		hc, x5t, err := g.tls.client(g.data)
		if err != nil {
			return nil, err
		}
		g.hc, g.x5t = hc, x5t
	}
	tok, err := mintBound(g.data, g.member, g.audience, time.Minute, g.x5t)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(g.base, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+string(tok))
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		route, _, _ := strings.Cut(path, "?")
		var p gateway.Problem
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			return nil, fmt.Errorf("%s %s: %d %s: %s %s", method, route, resp.StatusCode, p.Code, p.Title, p.Detail)
		}
		return nil, fmt.Errorf("%s %s: %s", method, route, resp.Status)
	}
	return b, nil
}

func gatewayFlags(e *env, name, synopsis string) (*flag.FlagSet, *gatewayClient) {
	fs := newFlags(e, name, synopsis)
	g := &gatewayClient{}
	fs.StringVar(&g.base, "gateway", "https://127.0.0.1:8080", "gateway URL")
	fs.StringVar((*string)(&g.data), "data", ".passerelle-demo", "data directory holding the member's key and the registry")
	fs.StringVar(&g.member, "member", "cnil", "member to ask as")
	fs.StringVar(&g.audience, "audience", DefaultGatewayID, "gateway id")
	g.tls.flags(fs)
	return fs, g
}
