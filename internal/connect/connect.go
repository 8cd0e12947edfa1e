// Package connect assembles a running connector from its configuration: the
// source system, the domain mapping, the member's signing key and the
// pseudonym keys, in files or in Vault.
package connect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/datakeys"
	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/memberkeys"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Signing modes.
const (
	SignBatch  = "batch"
	SignRecord = "record"
)

// Config is one connector's configuration file.
type Config struct {
	Member string `yaml:"member"`
	Domain string `yaml:"domain"`
	// Data is the member's data directory: key files and pseudonym keys
	// when Vault is not used.
	Data string `yaml:"data"`
	// State holds the checkpoint; by default Data/state/<domain>.
	State     string        `yaml:"state"`
	Kafka     bus.Config    `yaml:"kafka"`
	Signing   string        `yaml:"signing"`
	BatchSize int           `yaml:"batch_size"`
	Poll      time.Duration `yaml:"poll"`
	// Vault, when set, holds the member's signing key and the pseudonym
	// keys in Transit (internal/memberkeys); Data then holds no key.
	Vault  *memberkeys.Vault `yaml:"vault"`
	Source SourceConfig      `yaml:"source"`
	// Seal seals the records' personal fields under each citizen's data
	// key (docs/DESIGN.md, "Personal data on the log"). The connector
	// then follows its domain's key topic, whose records it verifies with
	// the member registry of Data (trust/members.yaml, its signature and
	// the governance key), and wraps epoch keys with the domain's KEK (in
	// Vault with vault:, else in Data/kek).
	Seal bool `yaml:"seal"`
}

// SourceConfig locates the administration's system.
type SourceConfig struct {
	// Driver and DSN of a SQL source ("pgx" or "sqlite"). The DSN holds
	// no password: pgx takes it from Password (or from PGPASSWORD or a
	// .pgpass file, as libpq does).
	Driver   string        `yaml:"driver"`
	DSN      string        `yaml:"dsn"`
	Password config.Secret `yaml:"password"`
	// Dir of a file-drop source (inbox/, done/, rejected/ below it).
	Dir string `yaml:"dir"`
}

// Validate names the first invalid field.
func (c *Config) Validate() error {
	d, ok := domains.ByName(c.Domain)
	switch {
	case c.Member == "":
		return errors.New("member: required")
	case !ok:
		return fmt.Errorf("domain: %q, want one of %v", c.Domain, domains.Names())
	case c.Signing != "" && c.Signing != SignBatch && c.Signing != SignRecord:
		return fmt.Errorf("signing: %q, want batch or record", c.Signing)
	case c.Vault == nil && c.Data == "":
		return errors.New("data: required unless vault is set")
	case c.Seal && c.Data == "":
		return errors.New("data: required with seal: the member registry is read there")
	case d.Source.SQL() && (c.Source.Driver == "" || c.Source.DSN == ""):
		return fmt.Errorf("source: domain %s reads SQL: driver and dsn are required", c.Domain)
	case !d.Source.SQL() && c.Source.Dir == "":
		return fmt.Errorf("source.dir: domain %s reads file drops: required", c.Domain)
	case c.BatchSize < 0:
		return errors.New("batch_size: must not be negative")
	}
	if c.Vault != nil {
		if err := c.Vault.Validate(); err != nil {
			return err
		}
	}
	if d.Source.SQL() {
		if err := c.Source.validateSQL(); err != nil {
			return err
		}
	}
	return c.Kafka.Validate()
}

// Deps are what the process shares between connectors.
type Deps struct {
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: metrics unregistered
	Metrics    *connectors.Metrics   // shared by connectors of one process
	Bus        *bus.Client
	BusMetrics *bus.Metrics
	Codec      *schemas.Codec
}

// Connector is an assembled connector; Close releases its source.
type Connector struct {
	*connectors.Runner
	Source connectors.Source
	close  []func() error
}

// Close releases the source and the writer.
func (c *Connector) Close() error {
	var errs []error
	for i := len(c.close) - 1; i >= 0; i-- {
		errs = append(errs, c.close[i]())
	}
	return errors.Join(errs...)
}

// Open assembles a connector.
func Open(ctx context.Context, cfg Config, deps Deps) (_ *Connector, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Connector{}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	d, _ := domains.ByName(cfg.Domain)
	src, err := openSource(cfg, d, c)
	if err != nil {
		return nil, err
	}
	c.Source = src
	sealer, kr, err := keys(ctx, cfg, c)
	if err != nil {
		return nil, err
	}
	linker, err := link.NewSealer(ctx, kr, d.Name)
	if err != nil {
		return nil, fmt.Errorf("%w (pseudonym keys of an older release: run passerelle keys pseudo, or create it in Vault)", err)
	}
	parts, err := deps.Bus.Partitions(ctx, d.Topic())
	if err != nil {
		return nil, err
	}
	dlqParts, err := deps.Bus.Partitions(ctx, d.DeadLetters())
	if err != nil {
		return nil, err
	}
	w := deps.Bus.NewWriter(deps.BusMetrics, bus.WithBalancer(bus.ByPartition{}))
	c.close = append(c.close, w.Close)
	state := cfg.State
	if state == "" {
		state = filepath.Join(cfg.Data, "state", cfg.Domain)
	}
	metrics := deps.Metrics
	if metrics == nil {
		metrics = connectors.NewMetrics(deps.Registerer)
	}
	var sealing connectors.Sealing
	if cfg.Seal {
		if sealing, err = openSealing(ctx, cfg, d, sealer, deps, c); err != nil {
			return nil, err
		}
	}
	c.Runner, err = connectors.NewRunner(connectors.Options{
		Member: cfg.Member, Domain: d.Name, Subject: d.Subject(), Source: src, Mapping: d.Mapping, Pseudo: pseudo.New(kr), Link: linker,
		Codec: deps.Codec, Sealer: sealer, BatchSigning: cfg.Signing != SignRecord, Writer: w,
		Partitions: parts, DLQPartitions: dlqParts,
		Checkpoint: connectors.NewCheckpoint(filepath.Join(state, "checkpoint.json")),
		BatchSize:  cfg.BatchSize, Poll: cfg.Poll, Metrics: metrics, Log: deps.Log, Sealing: sealing,
	})
	return c, err
}

// sealReady bounds how long a connector waits, when it opens, for its
// domain's key topic to be read to its end.
const sealReady = time.Minute

// openSealing follows d's key topic until the connector closes and
// returns its records' sealing.
func openSealing(ctx context.Context, cfg Config, d *domain.Domain, sealer *seal.Sealer, deps Deps, c *Connector) (connectors.Sealing, error) {
	data := datadir.Dir(cfg.Data)
	anchor, err := trust.LoadAnchor(data.GovernancePublic())
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	store, err := trust.Open(data.MembersDoc(), data.MembersSig(), anchor, deps.Log)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	k, closeKEK, err := memberkeys.OpenKEK(cfg.Vault, data)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	c.close = append(c.close, func() error { closeKEK(); return nil })
	isGateway := func(member string) bool {
		m, err := store.Current().Member(member)
		return err == nil && m.Has(trust.RoleGateway)
	}
	ledger := datakeys.New(d.Name, k, store, datakeys.Options{IsGateway: isGateway, Log: deps.Log})
	fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- ledger.Follow(fctx, deps.Bus) }()
	c.close = append(c.close, func() error { stop(); <-done; return nil })
	select {
	case <-ledger.CaughtUp():
	case err := <-done:
		done <- err
		return nil, fmt.Errorf("seal: %s: %w", bus.KeyTopic(d.Name), err)
	case <-time.After(sealReady):
		return nil, fmt.Errorf("seal: %s not read to its end within %s", bus.KeyTopic(d.Name), sealReady)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	sub, err := deps.Codec.Catalog().Subject(d.Subject())
	if err != nil {
		return nil, err
	}
	return datakeys.NewSealing(ledger, sealer, sub, d.Sealed())
}

func openSource(cfg Config, d *domain.Domain, c *Connector) (connectors.Source, error) {
	var db *sql.DB
	if d.Source.SQL() {
		var err error
		if db, err = openDB(cfg.Source); err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		c.close = append(c.close, db.Close)
	}
	return d.Source.Open(db, cfg.Source.Dir)
}

// keys returns the member's record sealer and the pseudonym keyring, which
// also holds the link keys; the connector releases them on Close.
func keys(ctx context.Context, cfg Config, c *Connector) (*seal.Sealer, pseudo.Keyring, error) {
	k, err := memberkeys.Open(ctx, cfg.Vault, datadir.Dir(cfg.Data), cfg.Member)
	if err != nil {
		return nil, nil, err
	}
	c.close = append(c.close, func() error { k.Close(); return nil })
	return seal.NewSealer(k.Signer), k.Keyring, nil
}
