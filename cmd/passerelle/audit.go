package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/gateway"
)

const auditSynopsis = `audit verify|trace|checkpoint|prove [flags]

  verify       replay the audit topic, recompute the tree, check every event's
               signature, every writer's sequence and every checkpoint, and
               that the log extends the checkpoints kept outside it
               (--checkpoint FILE, --gateway URL); report the first record
               where anything differs (exit 1)
  trace        ask the gateway, as an auditor, who accessed what
  checkpoint   fetch the gateway's latest checkpoint, check its signature and,
               with --witness FILE, that it extends the one seen last time
  prove        prove that an event is in the log the gateway signed: check the
               checkpoint's signature and the inclusion proof here, print it`

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(e.stderr, "usage: passerelle %s\n", auditSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, e, args[1:])
	case "trace":
		return auditTrace(ctx, e, args[1:])
	case "checkpoint":
		return auditCheckpoint(ctx, e, args[1:])
	case "prove":
		return auditProve(ctx, e, args[1:])
	}
	fmt.Fprintf(e.stderr, "unknown audit command %q\nusage: passerelle %s\n", args[0], auditSynopsis)
	return errUsage
}

func auditVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "audit verify", "audit verify [--data DIR] [--brokers HOST:PORT,...] [--topic T] [--origin O] [--checkpoint FILE]... [--gateway URL [--member ID]]")
	data := fs.String("data", ".passerelle-demo", "data directory holding the trust anchor and member registry")
	var kf kafkaFlags
	addKafkaFlags(fs, &kf, "127.0.0.1:9092")
	topic := fs.String("topic", bus.TopicAudit, "audit topic")
	origin := fs.String("origin", "", "the log's name in its checkpoints, to verify a copy on another topic (default: the topic)")
	var files stringList
	fs.Var(&files, "checkpoint", "a signed checkpoint kept outside the log (a witness file): the log must extend it (repeatable)")
	gw := fs.String("gateway", "", "also ask this gateway for its latest checkpoint, which the log must extend")
	member := fs.String("member", "cnil", "member to ask the gateway as")
	audience := fs.String("audience", DefaultGatewayID, "gateway id")
	var conn gatewayTLS
	conn.flags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := openTrust(datadir.Dir(*data), e)
	if err != nil {
		return err
	}
	if *origin == "" {
		*origin = *topic
	}
	var anchors []audit.Checkpoint
	for _, f := range files {
		signed, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		cp, _, err := audit.OpenGatewayCheckpoint(signed, store.Current())
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		anchors = append(anchors, cp)
	}
	if *gw != "" {
		g := gatewayClient{base: *gw, member: *member, audience: *audience, data: datadir.Dir(*data), tls: conn}
		signed, err := g.get(ctx, "/v1/audit/checkpoint", nil)
		if err != nil {
			return err
		}
		cp, _, err := audit.OpenGatewayCheckpoint(signed, store.Current())
		if err != nil {
			return fmt.Errorf("the gateway's checkpoint: %w", err)
		}
		anchors = append(anchors, cp)
	}
	kcfg, err := kf.config()
	if err != nil {
		return err
	}
	client, err := bus.New(kcfg, e.logger(slogQuiet))
	if err != nil {
		return err
	}
	defer client.Close()
	start := time.Now()
	rep, err := audit.Verify(ctx, client, store, audit.TrailOptions{Topic: *topic, Origin: *origin, Anchors: anchors})
	if err != nil {
		if audit.IsFinding(err) {
			// The finding is the command's result: on stdout, with it.
			fmt.Fprintf(e.stdout, "%s: NOT VERIFIED: after %d good events: %v\n", *topic, rep.Events, err)
			return errNotVerified
		}
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(e.stdout, "%s: %d events, %d checkpoints", *topic, rep.Events, rep.Checkpoints)
	if rep.Checkpoints > 0 {
		fmt.Fprintf(e.stdout, ", the latest signing %d events (by %s, root %s)", rep.Latest.Size, rep.Latest.Signer,
			base64.StdEncoding.EncodeToString(rep.Latest.Root[:]))
	}
	if rep.Duplicates > 0 {
		fmt.Fprintf(e.stdout, ", %d duplicates of producer retries", rep.Duplicates)
	}
	fmt.Fprintf(e.stdout, "; verified in %s\n", took.Round(time.Millisecond))
	if rep.Unsigned > 0 {
		fmt.Fprintf(e.stdout, "%d events after the latest checkpoint are not signed yet: ask for one with `passerelle audit checkpoint`\n", rep.Unsigned)
	}
	if len(anchors) == 0 {
		fmt.Fprintln(e.stdout, "no checkpoint kept outside the log was given: a tail cut off with its checkpoints would not show (--checkpoint FILE, --gateway URL)")
	} else {
		fmt.Fprintf(e.stdout, "the log extends the %d checkpoint(s) kept outside it\n", len(anchors))
	}
	return nil
}

// errNotVerified ends a verify whose finding it printed: exit 1, and a
// one-line reason on stderr.
var errNotVerified = errors.New("the audit log did not verify: the finding is printed above")

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// slogQuiet keeps the bus client's logs out of a command's output: its
// failures come back as errors.
const slogQuiet = slog.LevelError + 4

func auditTrace(ctx context.Context, e *env, args []string) error {
	fs, g := gatewayFlags(e, "audit trace", "audit trace [--gateway URL] [--data DIR] [--member ID] [--nir NIR] [--requester ID] [--purpose P] [--kind K] [--from RFC3339] [--to RFC3339] [--json]")
	q := map[string]*string{}
	for _, f := range []struct{ name, usage string }{
		{"nir", "only events about this citizen (the NIR; the gateway matches its audit pseudonym)"},
		{"requester", "only events of this member's requests"},
		{"purpose", "only events of this purpose"},
		{"kind", "only events of this kind: view, aggregate, consent, refusal, trace, access-log, consent-list, proof"},
		{"from", "only events at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z)"},
		{"to", "only events before this time (RFC 3339)"},
	} {
		q[f.name] = fs.String(f.name, "", f.usage)
	}
	asJSON := fs.Bool("json", false, "print the events as JSON lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	vals := url.Values{}
	for k, v := range q {
		if *v != "" {
			vals.Set(k, *v)
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "INDEX\tTIME\tKIND\tREQUESTER\tPURPOSE\tDECISION\tRULE\tRELEASED\tWITHHELD\tVOID")
	}
	for {
		b, err := g.get(ctx, "/v1/audit/events", vals)
		if err != nil {
			return err
		}
		var page gateway.EventsResponse
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		for _, ev := range page.Events {
			if *asJSON {
				line, _ := json.Marshal(ev)
				fmt.Fprintln(e.stdout, string(line))
				continue
			}
			// VOID: the event released nothing after all, and why
			// (docs/limits.md); a void event names the one it voids.
			void := ev.Void
			if ev.Kind == audit.KindVoid {
				void = "voids " + ev.Ref + " (" + ev.Code + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Index, ev.Time.UTC().Format(time.RFC3339), ev.Kind, ev.Requester,
				dash(ev.Purpose), ev.Decision, dash(ev.Rule), dash(strings.Join(ev.Released, ",")), dash(strings.Join(ev.Withheld, ",")), dash(void))
		}
		if page.Next == nil {
			break
		}
		vals.Set("after", fmt.Sprint(*page.Next))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
