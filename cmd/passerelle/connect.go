package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/schemas"
)

func runConnect(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(e.stderr, "usage: passerelle connect <domain> --config FILE [--replay-dlq] [--until-idle]\n\ndomains: %v\n", domains.Names())
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	domain := args[0]
	fs := newFlags(e, "connect", "connect <domain> --config FILE [--replay-dlq] [--until-idle]")
	path := fs.String("config", "", "connector configuration file, YAML with ${VAR:default} from the environment, secrets as ${VAR} or file:PATH (required; example: deploy/examples/connector-tax.yaml)")
	replay := fs.Bool("replay-dlq", false, "re-run this connector's dead letters, rereading each row from its source, then exit")
	untilIdle := fs.Bool("until-idle", false, "exit once the source has nothing new (a batch job) instead of polling")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(e.stderr, "--config is required")
		return errUsage
	}
	var cfg connect.Config
	if err := config.Load(*path, &cfg); err != nil {
		return err
	}
	if cfg.Domain != domain {
		return fmt.Errorf("config %s is for domain %q, not %q", *path, cfg.Domain, domain)
	}
	log := e.logger(slog.LevelInfo)
	client, err := bus.New(cfg.Kafka, log)
	if err != nil {
		return err
	}
	defer client.Close()
	if err := client.Ping(ctx); err != nil {
		return err
	}
	cat, err := domains.Catalog()
	if err != nil {
		return err
	}
	c, err := connect.Open(ctx, cfg, connect.Deps{Log: log, Bus: client, Codec: schemas.NewCodec(cat)})
	if err != nil {
		return err
	}
	defer c.Close()
	if *replay {
		r, err := client.NewGroupReader("passerelle-replay-"+cfg.Member+"-"+domain, []string{bus.DLQTopic(domain)}, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		st, err := connectors.ReplayDeadLetters(ctx, c.Runner, c.Source, r, 5*time.Second)
		fmt.Fprintf(e.stdout, "dead letters: %d read, %d of this connector: %d published, %d still refused, %d gone from the source\n",
			st.Seen, st.Mine, st.Published, st.StillDead, st.Gone)
		return err
	}
	err = c.Run(ctx, *untilIdle)
	st := c.Stats()
	fmt.Fprintf(e.stdout, "%s: %d rows read, %d published, %d rejected\n", domain, st.Read, st.Published, st.Rejected)
	if ctx.Err() != nil {
		return nil // Ctrl-C is how a polling connector stops
	}
	return err
}
