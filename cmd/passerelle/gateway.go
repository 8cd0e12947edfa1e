package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/memberkeys"
	"github.com/passerelle-bus/passerelle/internal/supervise"
)

// gatewayConfig is the gateway's configuration file.
type gatewayConfig struct {
	// ID is the gateway's member id and the audience of request tokens.
	ID     string     `yaml:"id"`
	Listen string     `yaml:"listen"`
	Data   string     `yaml:"data"` // keys, pseudonym keys, trust anchor and registry
	Kafka  bus.Config `yaml:"kafka"`
	// Vault, when set, holds the gateway's signing key (its audit events
	// and checkpoints, its consent events) and every pseudonym and link
	// key in Transit: Data then keeps only the public trust anchor and
	// member registry. deploy/vault/gateway.hcl is its token's policy.
	Vault *memberkeys.Vault `yaml:"vault"`
	// Index is the bbolt file of the view; empty keeps it in memory.
	Index string `yaml:"index"`
	// Policy is a policy directory; empty uses the one built in.
	Policy string `yaml:"policy"`
	Audit  struct {
		// Topic defaults to passerelle.audit.v1.
		Topic string `yaml:"topic"`
		// CheckpointInterval is how often the gateway signs the log.
		CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
		// Index is the bbolt file of the trail the gateway reads back for
		// auditors, citizens and fair-use counts; empty keeps it in memory
		// (it grows with the log) and rereads the topic at each start.
		Index string `yaml:"index"`
	} `yaml:"audit"`
	// TLS, when set, serves HTTPS and, with a client CA, mutual TLS with
	// members; absent, the gateway serves plain HTTP and says so loudly.
	TLS   *gateway.TLSConfig `yaml:"tls"`
	Stats struct {
		// Period is how long a statistics snapshot serves: answers within
		// it are cut from the same protected tables (1h if zero).
		Period time.Duration `yaml:"period"`
	} `yaml:"stats"`
}

func (c *gatewayConfig) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("id: required")
	case c.Listen == "":
		return errors.New("listen: required")
	case c.Data == "":
		return errors.New("data: required")
	case c.Audit.CheckpointInterval < 0:
		return errors.New("audit.checkpoint_interval: must be positive")
	case c.Stats.Period < 0:
		return errors.New("stats.period: must be positive")
	}
	if c.Vault != nil {
		if err := c.Vault.Validate(); err != nil {
			return err
		}
	}
	if c.TLS != nil {
		if err := c.TLS.Validate(); err != nil {
			return err
		}
	}
	return c.Kafka.Validate()
}

func runGateway(ctx context.Context, e *env, args []string) error {
	fs_ := newFlags(e, "gateway", "gateway --config FILE")
	path := fs_.String("config", "", "gateway configuration file, YAML with ${VAR:default} from the environment, secrets as ${VAR} or file:PATH (required; example: deploy/examples/gateway.yaml)")
	if err := parseFlags(fs_, args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(e.stderr, "--config is required")
		return errUsage
	}
	var cfg gatewayConfig
	if err := config.Load(*path, &cfg); err != nil {
		return err
	}
	log := e.logger(slog.LevelInfo)
	tc, err := serverTLS(cfg.TLS, log)
	if err != nil {
		return err
	}
	client, err := bus.New(cfg.Kafka, log)
	if err != nil {
		return err
	}
	defer client.Close()
	if err := client.Ping(ctx); err != nil {
		return err
	}
	parts := supervise.New(log)
	defer stopParts(ctx, parts) // on the way out early; a second Stop returns the first's result
	gw, rules, err := assemble(ctx, e, parts, client, newRegistry(), cfg, log)
	if err != nil {
		return err
	}
	err = serve(ctx, cfg.Listen, tc, gw.Handler, log, func(addr net.Addr, scheme string) {
		fmt.Fprintf(e.stdout, "gateway %s listening on %s://%s (policy %s)\n", cfg.ID, scheme, addr, rules.Version)
	})
	// The server has finished its requests: now the parts, whose audit
	// log commits what they queued.
	return errors.Join(err, stopParts(ctx, parts))
}

// serverTLS reads the tls section; without one the gateway serves plain
// HTTP, which a deployment must not: bearer tokens and citizens' data
// would cross the network in clear. It is kept for tests and for a
// gateway behind a TLS-terminating proxy on the same host, and warned of.
func serverTLS(c *gateway.TLSConfig, log *slog.Logger) (*tls.Config, error) {
	if c == nil {
		log.Warn("NO TLS: serving plain HTTP; request tokens and citizens' data cross the network in clear. Configure the tls section (deploy/examples/gateway.yaml)", "component", "gateway")
		return nil, nil
	}
	return c.ServerConfig()
}
