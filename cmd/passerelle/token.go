package main

import (
	"context"
	"fmt"
	"time"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// DefaultGatewayID is the audience of request JWTs when none is configured.
const DefaultGatewayID = "passerelle-gateway"

func runToken(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "token", "token [--data DIR] --member ID [--audience ID] [--ttl 5m]\n\nA request token works once (a replay is refused) and for at most five minutes:\nmint one per request, e.g. curl -H \"Authorization: Bearer $(passerelle token --member cnaf)\" ...")
	data := fs.String("data", ".passerelle-demo", "data directory holding the member's key")
	member := fs.String("member", "", "member id (required)")
	aud := fs.String("audience", DefaultGatewayID, "gateway id the token is for")
	ttl := fs.Duration("ttl", trust.MaxTokenTTL, "lifetime, at most 5m")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *member == "" {
		fmt.Fprintln(e.stderr, "--member is required")
		return errUsage
	}
	tok, err := mint(datadir.Dir(*data), *member, *aud, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, string(tok))
	return nil
}

// mint signs a request token with the member's current key in d.
func mint(d datadir.Dir, member, audience string, ttl time.Duration) ([]byte, error) {
	key, err := d.Keys().Current(member)
	if err != nil {
		return nil, err
	}
	return trust.MintToken(key, member, audience, ttl, time.Now())
}
