package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/supervise"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/schemas"
)

// population is what the demo's marker file records of its sources.
type population struct {
	Citizens int              `json:"citizens"`
	Seed     int64            `json:"seed"`
	Rows     map[string]int64 `json:"rows"` // rows written per domain
	// Example is a citizen the printed example request can ask about.
	Example string `json:"example_nir"`
}

// ensureSources writes the synthetic population into the demo's source
// systems once per (citizens, seed): a restarted demo resumes its
// connectors instead of publishing a second population. The sources are
// written beside dir and renamed into place, marker included, so that a
// demo killed while writing them leaves nothing a restart would take for
// a population: it starts the writing over.
func ensureSources(ctx context.Context, dir string, citizens int, seed int64, w io.Writer) (population, error) {
	marker := filepath.Join(dir, ".population.json")
	var have population
	switch b, err := os.ReadFile(marker); {
	case err == nil:
		if err := json.Unmarshal(b, &have); err != nil {
			return have, fmt.Errorf("%s: %w", marker, err)
		}
		if have.Citizens != citizens || have.Seed != seed {
			return have, fmt.Errorf("%s holds another population (%d citizens, seed %d); use another --data or the same --citizens and --seed", dir, have.Citizens, have.Seed)
		}
		return have, nil
	case !errors.Is(err, fs.ErrNotExist):
		return have, err
	}
	// No marker: whatever is there is a writing that was cut short.
	tmp := dir + ".writing"
	for _, d := range []string{dir, tmp} {
		if err := os.RemoveAll(d); err != nil {
			return have, err
		}
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return have, err
	}
	start := time.Now()
	fmt.Fprintf(w, "Generating %d synthetic citizens (seed %d)...\n", citizens, seed)
	p := synth.Generate(citizens, seed, synth.Options{})
	have = population{Citizens: citizens, Seed: seed, Rows: map[string]int64{}}
	for _, d := range domains.All() {
		src := d.Synth(p)
		if err := connect.WriteSynthetic(ctx, d, src, tmp); err != nil {
			return have, fmt.Errorf("write the %s source: %w", d.Name, err)
		}
		have.Rows[d.Name] = int64(src.Manifest.Total())
	}
	for _, c := range p.Citizens {
		if c.Alive() && c.Age(p.AsOf) >= 30 {
			have.Example = c.NIR
			break
		}
	}
	b, _ := json.Marshal(have)
	if err := os.WriteFile(filepath.Join(tmp, ".population.json"), b, 0o600); err != nil {
		return have, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return have, err
	}
	fmt.Fprintf(w, "Source systems written in %s (%s).\n", dir, time.Since(start).Round(time.Millisecond))
	return have, nil
}

// demoConnectorConfig configures one domain's connector on the demo's
// sources, as its publisher.
func demoConnectorConfig(dir datadir.Dir, sources string, kafka bus.Config, d *domain.Domain) connect.Config {
	return connect.Config{
		Member: d.Publisher.ID, Domain: d.Name, Data: string(dir), Source: connect.SyntheticSource(d, sources),
		Kafka: kafka, Signing: connect.SignBatch, Poll: 2 * time.Second,
		// Personal fields sealed on the log, opened by the gateway with
		// the KEKs of the data directory (docs/DESIGN.md).
		Seal: true,
	}
}

// startConnectors runs every domain's connector as a part of the demo, each
// named connectorPart(domain) in /readyz, until the parts are stopped.
func startConnectors(ctx context.Context, parts *supervise.Group, d datadir.Dir, sources string, kafka demoKafka, reg prometheus.Registerer, log *slog.Logger) ([]*connect.Connector, error) {
	cat, err := domains.Catalog()
	if err != nil {
		return nil, err
	}
	deps := connect.Deps{Log: log, Codec: schemas.NewCodec(cat),
		Metrics: connectors.NewMetrics(reg), BusMetrics: bus.NewMetrics(reg)}
	var cs []*connect.Connector
	for _, dom := range domains.All() {
		domain := dom.Name
		// Each connector signs in as its own principal: what the ACL
		// file lets connector-<domain> do, and nothing another may.
		kcfg, err := kafka.as(busacl.ConnectorUser(domain))
		if err != nil {
			return nil, err
		}
		client, err := bus.New(kcfg, log)
		if err != nil {
			return nil, fmt.Errorf("connector %s: %w", domain, err)
		}
		deps := deps
		deps.Bus = client
		c, err := connect.Open(ctx, demoConnectorConfig(d, sources, kcfg, dom), deps)
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("connector %s: %w", domain, err)
		}
		err = parts.Start(ctx, supervise.Part{Name: connectorPart(domain),
			Close: func() error { defer client.Close(); return c.Close() },
			Run:   func(ctx context.Context) error { return c.Run(ctx, false) }})
		if err != nil {
			return nil, errors.Join(err, c.Close())
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// connectorPart names a domain's connector among the demo's parts.
func connectorPart(domain string) string { return "connector/" + domain }

// showProgress prints the connectors' counts until they stop moving: on a
// terminal a bar redrawn in place, otherwise a line per second.
func showProgress(ctx context.Context, w io.Writer, tty bool, cs []*connect.Connector, total int64, kcatDLQ string) {
	var last connectors.Stats
	for still := 0; still < 3; {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		var sum connectors.Stats
		var parts []string
		for _, c := range cs {
			s := c.Stats()
			sum.Read += s.Read
			sum.Published += s.Published
			sum.Rejected += s.Rejected
			parts = append(parts, fmt.Sprintf("%s %d", c.Domain(), s.Published))
		}
		line := fmt.Sprintf("%d rows read, %d published, %d rejected (%s)", sum.Read, sum.Published, sum.Rejected, strings.Join(parts, ", "))
		if tty {
			fmt.Fprintf(w, "\r%s %s", bar(sum.Read, total), line)
		} else {
			fmt.Fprintln(w, "connectors: "+line)
		}
		if sum == last {
			still++
		} else {
			still = 0
		}
		last = sum
	}
	if tty {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Connectors caught up; they keep polling their sources.")
	if last.Rejected > 0 {
		// The synthetic sources carry defects on purpose (passerelle
		// synth --defects): a user should not take them for a failure.
		fmt.Fprintf(w, "The %d rejected rows are the synthetic sources' deliberate defects (about 1%%: bad NIRs, dates, amounts...);\n"+
			"each is on its domain's dead-letter topic with its reason: %s\n", last.Rejected, kcatDLQ)
	}
}

// bar draws done out of total; after a restart the connectors resume from
// their checkpoints, so done may stay below total.
func bar(done, total int64) string {
	const width = 24
	if total <= 0 {
		return ""
	}
	n := int(min(done, total) * width / total)
	return fmt.Sprintf("[%s%s] %3d%%", strings.Repeat("#", n), strings.Repeat(".", width-n), min(done, total)*100/total)
}
