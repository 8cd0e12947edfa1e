package main

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/memberkeys"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/supervise"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/policy"
)

// registryReload is how often a running gateway rereads the member
// registry, so that a revocation takes effect without a restart.
const registryReload = 2 * time.Second

// stopTimeout bounds how long a stopping command waits for its parts
// (the audit log committing what is queued, the trail saving its index)
// once its HTTP server has finished its requests.
const stopTimeout = 10 * time.Second

// partRegistry is the registry watcher's name in /readyz.
const partRegistry = "registry"

// partKeys holds the gateway's keys open, in files or Vault, until the
// parts that use them have stopped.
const partKeys = "keys"

// assemble starts the gateway cfg describes on client, its parts and the
// registry watcher running in parts. It is the one place a gateway is put
// together: `passerelle gateway` calls it with its configuration file,
// `passerelle demo` with a configuration of its flags. cfg.Listen and
// cfg.Kafka are the caller's (it serves the handler and made client).
// On error, what it started in parts is left to the caller to stop.
func assemble(ctx context.Context, e *env, parts *supervise.Group, client *bus.Client, reg *prometheus.Registry, cfg gatewayConfig, log *slog.Logger) (*gateway.Gateway, *policy.RuleSet, error) {
	d := datadir.Dir(cfg.Data)
	store, err := openTrust(d, e)
	if err != nil {
		return nil, nil, err
	}
	err = parts.Start(ctx, supervise.Part{Name: partRegistry, Run: func(ctx context.Context) error {
		store.Watch(ctx, registryReload)
		return nil
	}})
	if err != nil {
		return nil, nil, err
	}
	var policyFS fs.FS = policy.Default
	if cfg.Policy != "" {
		policyFS = os.DirFS(cfg.Policy)
	}
	rules, err := policy.Load(policyFS, ".")
	if err != nil {
		return nil, nil, err
	}
	cat, err := domains.Catalog()
	if err != nil {
		return nil, nil, err
	}
	// With cfg.Vault, the keys are Transit's and no key file is read. The
	// link keys are not used per record through Vault: link.NewOpener
	// derives each domain's seal key once here, with one HMAC, and opens
	// headers locally (AES-GCM) at ingest rate (docs/DESIGN.md, Keys in
	// Vault).
	keys, err := memberkeys.Open(ctx, cfg.Vault, d, cfg.ID)
	if err != nil {
		return nil, nil, err
	}
	// A part of its own, started before the gateway's: Stop closes parts
	// in reverse order, so the keys are released after the last checkpoint
	// is signed with them.
	// The KEKs of personal data: Transit keys with cfg.Vault, files of the
	// data directory without.
	keks, closeKEK, err := memberkeys.OpenKEK(cfg.Vault, d)
	if err != nil {
		keys.Close()
		return nil, nil, err
	}
	err = parts.Start(ctx, supervise.Part{Name: partKeys, Run: func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	}, Close: func() error { keys.Close(); closeKEK(); return nil }})
	if err != nil {
		keys.Close()
		closeKEK()
		return nil, nil, err
	}
	var index view.Store = view.NewMemory()
	if cfg.Index != "" {
		if index, err = view.OpenDisk(cfg.Index); err != nil {
			return nil, nil, err
		}
	}
	gw, err := gateway.Start(ctx, gateway.Parts{ID: cfg.ID, Log: log, Metrics: reg, Bus: client, Trust: store,
		Rules: rules, Schemas: cat, Pseudo: pseudo.New(keys.Keyring), Signer: keys.Signer, Index: index,
		AuditTopic: cfg.Audit.Topic, CheckpointInterval: cfg.Audit.CheckpointInterval, AuditIndex: cfg.Audit.Index,
		StatsPeriod: cfg.Stats.Period, KEK: keks, Group: parts})
	if err != nil {
		return nil, nil, err
	}
	return gw, rules, nil
}

// stopParts stops parts within stopTimeout; ctx is the command's, ended
// already when a signal stops it, so only its values are kept.
func stopParts(ctx context.Context, parts *supervise.Group) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	return parts.Stop(ctx)
}
