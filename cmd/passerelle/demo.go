package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/supervise"
)

type demoFlags struct {
	listen, brokerListen, data string
	kafka                      kafkaFlags
	usersDir                   string
	partitions, citizens       int
	seed                       int64
	verbose                    bool
}

func runDemo(ctx context.Context, e *env, args []string) error {
	var f demoFlags
	fs := newFlags(e, "demo", "demo [--listen ADDR] [--broker-listen ADDR] [--data DIR] [--citizens N] [--seed S] [--brokers HOST:PORT,... [--kafka-ca FILE --kafka-user U --kafka-password-file F] [--kafka-users-dir DIR]]")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address of the gateway's HTTP API")
	fs.StringVar(&f.brokerListen, "broker-listen", "127.0.0.1:9092", "address of the embedded Kafka broker, reachable by any Kafka client")
	fs.StringVar(&f.data, "data", ".passerelle-demo", "directory for the broker's log, its CA and users, and the members' keys")
	addKafkaFlags(fs, &f.kafka, "")
	fs.Lookup("brokers").Usage = "use these Kafka brokers instead of the embedded one, as the operator the --kafka-* flags give"
	fs.StringVar(&f.usersDir, "kafka-users-dir", "", "with --brokers: run each component as its own user, with the password in DIR/<user>.password (passerelle kafka apply --users-dir DIR)")
	fs.IntVar(&f.partitions, "partitions", 6, "partitions per topic created")
	fs.IntVar(&f.citizens, "citizens", 10000, "size of the synthetic population")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the synthetic population (same seed, same people)")
	fs.BoolVar(&f.verbose, "v", false, "debug logging")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	return demo(ctx, e, f, e.logger(level))
}

func demo(ctx context.Context, e *env, f demoFlags, log *slog.Logger) error {
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	d := datadir.Dir(f.data)
	if err := bootstrap(ctx, d); err != nil {
		return fmt.Errorf("bootstrap %s: %w", f.data, err)
	}
	var kafka demoKafka
	if f.kafka.brokers != "" {
		cfg, err := f.kafka.config()
		if err != nil {
			return err
		}
		kafka = demoKafka{admin: cfg, usersDir: f.usersDir, adminPasswordFile: f.kafka.passwordFile}
	} else {
		emb, k, err := startSecureEmbedded(d, f.brokerListen, log)
		if err != nil {
			return err
		}
		defer emb.Close()
		kafka = k
		log.Info("embedded broker started", "addr", emb.Addr())
	}
	admin, err := bus.New(kafka.admin, log)
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := admin.Ping(ctx); err != nil {
		return err
	}
	topics, err := ensureDemoTopics(ctx, admin, f.partitions)
	if err != nil {
		return err
	}
	if kafka.embedded {
		if _, err := lockDown(ctx, admin, d); err != nil {
			return err
		}
	}
	brokers := admin.Brokers()
	// Each component signs in as its own principal, held to the ACL file.
	gwCfg, err := kafka.as(busacl.GatewayUser)
	if err != nil {
		return err
	}
	client, err := bus.New(gwCfg, log)
	if err != nil {
		return err
	}
	defer client.Close()

	reg := newRegistry()

	sources := filepath.Join(f.data, "sources")
	pop, err := ensureSources(ctx, sources, f.citizens, f.seed, e.stdout)
	if err != nil {
		return err
	}
	// The demo's gateway is the gateway command's, configured by flags.
	cfg := gatewayConfig{ID: DefaultGatewayID, Listen: f.listen, Data: f.data, TLS: demoTLS(d)}
	if err := ensureDemoCertificates(d, f.listen, time.Now()); err != nil {
		return err
	}
	tc, err := cfg.TLS.ServerConfig()
	if err != nil {
		return err
	}
	cfg.Audit.Index = filepath.Join(f.data, "audit.db")
	// Statistics see what the connectors published within a minute: a
	// first query while they still publish would otherwise hold a partial
	// table for the hour a deployment keeps one.
	cfg.Stats.Period = time.Minute
	parts := supervise.New(log)
	defer stopParts(ctx, parts) // on the way out early; a second Stop returns the first's result
	gw, _, err := assemble(ctx, e, parts, client, reg, cfg, log)
	if err != nil {
		return err
	}
	conns, err := startConnectors(ctx, parts, d, sources, kafka, reg, log)
	if err != nil {
		return err
	}
	var rows int64
	for _, n := range pop.Rows {
		rows += n
	}
	pctx, stopProgress := context.WithCancel(ctx)
	var progress sync.WaitGroup
	err = serve(ctx, f.listen, tc, gw.Handler, log, func(addr net.Addr, scheme string) {
		base := scheme + "://" + addr.String()
		self := selfCommand()
		curl := "curl -s --cacert " + d.CACert()
		fmt.Fprintf(e.stdout, `Passerelle demo is running.
  Kafka brokers:  %[1]s (%[2]d topics, e.g. %[3]s; %[8]s)
  Gateway:        %[4]s
  Data:           %[5]s

Ask for a citizen's view as the benefits payer checking housing aid. A
request token works once and for five minutes, so each request mints its own:
  %[11]s -H "Authorization: Bearer $(%[6]s token --data %[5]s --member cnaf)" '%[4]s/v1/citizens/%[7]s/view?purpose=housing-aid-eligibility&fields=tax.reference_income,tax.shares,civilstatus.birth_date'

See who accessed that citizen's data, as the data-protection authority, and
check that the audit log was not altered:
  %[6]s audit trace --data %[5]s --gateway %[4]s --nir %[7]s
  %[6]s audit verify --data %[5]s %[9]s

The gateway serves HTTPS with a certificate of the data directory's own
CA (%[12]s, which the broker's certificate is of too): clients trust it
with --cacert, the passerelle commands find it under --data. Also:
  %[11]s %[4]s/readyz
  %[11]s %[4]s/metrics | grep passerelle_
  %[11]s %[4]s/registry/subjects
  %[11]s %[4]s/v1/members
  %[11]s %[4]s/v1/rules
%[10]s
Stop with Ctrl-C.

`, strings.Join(brokers, ","), len(topics), topics[0].Name, base, f.data, self, pop.Example,
			kafka.security(), kafka.cliArgs(busacl.AuditorUser), kafka.kcatHelp(d), curl, d.CACert())

		progress.Go(func() { showProgress(pctx, e.stdout, isTerminal(e.stdout), conns, rows, kafka.kcatDeadLetters(d)) })
	})
	stopProgress()
	progress.Wait()
	// The server has finished its requests: now the connectors and the
	// gateway's parts, whose audit log commits what they queued.
	err = errors.Join(err, stopParts(ctx, parts))
	log.Info("stopped")
	return err
}

// selfCommand is how to run this binary again from where it was started,
// for the commands the demo prints: its path as invoked (bin/passerelle,
// or passerelle from the PATH), or `go run ./cmd/passerelle` when `go run`
// built it in a temporary directory.
func selfCommand() string {
	self := os.Args[0]
	if strings.Contains(self, "go-build") {
		return "go run ./cmd/passerelle"
	}
	return self
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
