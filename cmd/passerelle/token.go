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
	fs := newFlags(e, "token", "token --data DIR --member ID [--audience ID] [--ttl 5m]")
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
	key, err := datadir.Dir(*data).Keys().Current(*member)
	if err != nil {
		return err
	}
	tok, err := trust.MintToken(key, *member, *aud, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, string(tok))
	return nil
}
