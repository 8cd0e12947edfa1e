package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

const auditSynopsis = `audit verify|trace|checkpoint [flags]

  verify       replay the audit topic, recompute the tree, check every event's
               signature, every writer's sequence and every checkpoint; report
               the first record where anything differs (exit 1)
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
	fs := newFlags(e, "audit verify", "audit verify [--data DIR] [--brokers HOST:PORT,...] [--topic T] [--origin O]")
	data := fs.String("data", ".passerelle-demo", "data directory holding the trust anchor and member registry")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka brokers")
	topic := fs.String("topic", bus.TopicAudit, "audit topic")
	origin := fs.String("origin", "", "the log's name in its checkpoints, to verify a copy on another topic (default: the topic)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := openTrust(ctx, datadir.Dir(*data), e)
	if err != nil {
		return err
	}
	client, err := bus.New(bus.Config{Brokers: strings.Split(*brokers, ",")}, e.logger(slogQuiet))
	if err != nil {
		return err
	}
	defer client.Close()
	start := time.Now()
	rep, err := audit.Verify(ctx, client, store, audit.TrailOptions{Topic: *topic, Origin: *origin})
	if err != nil {
		if audit.IsFinding(err) {
			fmt.Fprintf(e.stdout, "%s: NOT VERIFIED: the first finding follows %d events\n", *topic, rep.Events)
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
	return nil
}

// slogQuiet keeps the bus client's logs out of a command's output: its
// failures come back as errors.
const slogQuiet = slog.LevelError + 4

// gatewayClient calls the gateway as a member, with a fresh token a call.
type gatewayClient struct {
	base, member, audience string
	data                   datadir.Dir
}

func (g gatewayClient) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	key, err := g.data.Keys().Current(g.member)
	if err != nil {
		return nil, err
	}
	tok, err := trust.MintToken(key, g.member, g.audience, time.Minute, time.Now())
	if err != nil {
		return nil, err
	}
	u := strings.TrimSuffix(g.base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+string(tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var p gateway.Problem
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			return nil, fmt.Errorf("GET %s: %d %s: %s %s", path, resp.StatusCode, p.Code, p.Title, p.Detail)
		}
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, nil
}

func gatewayFlags(e *env, name, synopsis string) (*flag.FlagSet, *gatewayClient) {
	fs := newFlags(e, name, synopsis)
	g := &gatewayClient{}
	fs.StringVar(&g.base, "gateway", "http://127.0.0.1:8080", "gateway URL")
	fs.StringVar((*string)(&g.data), "data", ".passerelle-demo", "data directory holding the member's key and the registry")
	fs.StringVar(&g.member, "member", "cnil", "member to ask as")
	fs.StringVar(&g.audience, "audience", DefaultGatewayID, "gateway id")
	return fs, g
}

func auditTrace(ctx context.Context, e *env, args []string) error {
	fs, g := gatewayFlags(e, "audit trace", "audit trace [--gateway URL] [--data DIR] [--member ID] [--nir NIR] [--requester ID] [--purpose P] [--kind K] [--from RFC3339] [--to RFC3339] [--json]")
	q := map[string]*string{}
	for _, name := range []string{"nir", "requester", "purpose", "kind", "from", "to"} {
		q[name] = fs.String(name, "", "only events with this "+name)
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
		fmt.Fprintln(tw, "INDEX\tTIME\tKIND\tREQUESTER\tPURPOSE\tDECISION\tRULE\tRELEASED\tWITHHELD")
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
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Index, ev.Time.UTC().Format(time.RFC3339), ev.Kind, ev.Requester,
				dash(ev.Purpose), ev.Decision, dash(ev.Rule), dash(strings.Join(ev.Released, ",")), dash(strings.Join(ev.Withheld, ",")))
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

func auditCheckpoint(ctx context.Context, e *env, args []string) error {
	fs, g := gatewayFlags(e, "audit checkpoint", "audit checkpoint [--gateway URL] [--data DIR] [--member ID] [--witness FILE]")
	witness := fs.String("witness", "", "file keeping the last checkpoint seen; the new one must extend it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := openTrust(ctx, g.data, e)
	if err != nil {
		return err
	}
	signed, err := g.get(ctx, "/v1/audit/checkpoint", nil)
	if err != nil {
		return err
	}
	known, _ := audit.GatewayVerifiers(store.Current())
	cp, err := audit.OpenCheckpoint(signed, known)
	if err != nil {
		return err
	}
	if *witness != "" {
		if err := witnessCheck(ctx, g, *witness, cp, known); err != nil {
			return err
		}
		if err := os.WriteFile(*witness, signed, 0o644); err != nil {
			return err
		}
	}
	_, err = e.stdout.Write(signed)
	return err
}

// witnessCheck proves, with the gateway's consistency proof, that cp
// extends the checkpoint kept in file: the log was only appended to.
func witnessCheck(ctx context.Context, g *gatewayClient, file string, cp audit.Checkpoint, known note.Verifiers) error {
	old, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	prev, err := audit.OpenCheckpoint(old, known)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	switch {
	case prev.Origin != cp.Origin:
		return fmt.Errorf("checkpoint of %s, the witness file holds one of %s", cp.Origin, prev.Origin)
	case cp.Size < prev.Size:
		return fmt.Errorf("%w: the gateway signs %d events, %d were signed before: the log was cut", audit.ErrDropped, cp.Size, prev.Size)
	case cp.Size == prev.Size:
		if cp.Root != prev.Root {
			return fmt.Errorf("%w: two roots for %d events", audit.ErrRootMismatch, cp.Size)
		}
		return nil
	}
	b, err := g.get(ctx, "/v1/audit/proof", url.Values{"from": {fmt.Sprint(prev.Size)}, "size": {fmt.Sprint(cp.Size)}})
	if err != nil {
		return err
	}
	var p gateway.ProofResponse
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	proof := make(tlog.TreeProof, len(p.Proof))
	for i, s := range p.Proof {
		h, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(h) != len(tlog.Hash{}) {
			return fmt.Errorf("proof: hash %d malformed", i)
		}
		copy(proof[i][:], h)
	}
	if err := tlog.CheckTree(proof, cp.Size, cp.Root, prev.Size, prev.Root); err != nil {
		return fmt.Errorf("%w: the log of %d events does not extend the one of %d seen before: %w", audit.ErrRootMismatch, cp.Size, prev.Size, err)
	}
	return nil
}

func auditProve(ctx context.Context, e *env, args []string) error {
	fs, g := gatewayFlags(e, "audit prove", "audit prove --event ID [--gateway URL] [--data DIR] [--member ID]")
	id := fs.String("event", "", "event id (a request id; see audit trace) (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		fmt.Fprintln(e.stderr, "--event is required")
		return errUsage
	}
	store, err := openTrust(ctx, g.data, e)
	if err != nil {
		return err
	}
	b, err := g.get(ctx, "/v1/audit/proof", url.Values{"event": {*id}})
	if err != nil {
		return err
	}
	var p gateway.ProofResponse
	if err := json.Unmarshal(b, &p); err != nil || p.Index == nil {
		return fmt.Errorf("proof: not an inclusion proof: %s", b)
	}
	known, names := audit.GatewayVerifiers(store.Current())
	cp, err := audit.OpenCheckpoint([]byte(p.Checkpoint), known)
	if err != nil {
		return err
	}
	leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
	if err != nil {
		return fmt.Errorf("proof: leaf: %w", err)
	}
	var ev audit.Event
	if err := json.Unmarshal(leaf, &ev); err != nil || ev.ID != *id {
		return fmt.Errorf("%w: the gateway's leaf is not event %s", audit.ErrForged, *id)
	}
	proof := make(tlog.RecordProof, len(p.Proof))
	for i, s := range p.Proof {
		h, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(h) != len(tlog.Hash{}) {
			return fmt.Errorf("proof: hash %d malformed", i)
		}
		copy(proof[i][:], h)
	}
	if err := tlog.CheckRecord(proof, cp.Size, cp.Root, *p.Index, tlog.RecordHash(leaf)); err != nil {
		return fmt.Errorf("%w: event %s is not leaf %d of the signed log of %d events: %w", audit.ErrRootMismatch, *id, *p.Index, cp.Size, err)
	}
	signer := "?"
	if n, err := note.Open([]byte(p.Checkpoint), known); err == nil && len(n.Sigs) > 0 {
		signer = names[n.Sigs[0].Hash]
	}
	fmt.Fprintf(e.stdout, "event %s is leaf %d of %s, whose %d events %s signed (root %s)\n%s\n",
		*id, *p.Index, cp.Origin, cp.Size, signer, base64.StdEncoding.EncodeToString(cp.Root[:]), leaf)
	return nil
}
