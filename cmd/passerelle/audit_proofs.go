package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

func auditCheckpoint(ctx context.Context, e *env, args []string) error {
	fs, g := gatewayFlags(e, "audit checkpoint", "audit checkpoint [--gateway URL] [--data DIR] [--member ID] [--witness FILE]")
	witness := fs.String("witness", "", "file keeping the last checkpoint seen; the new one must extend it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := openTrust(g.data, e)
	if err != nil {
		return err
	}
	signed, err := g.get(ctx, "/v1/audit/checkpoint", nil)
	if err != nil {
		return err
	}
	cp, _, err := audit.OpenGatewayCheckpoint(signed, store.Current())
	if err != nil {
		return err
	}
	if *witness != "" {
		said, err := witnessCheck(ctx, g, *witness, cp, store.Current())
		if err != nil {
			return err
		}
		if err := os.WriteFile(*witness, signed, 0o644); err != nil {
			return err
		}
		// What the witness found goes with the checkpoint, on stderr:
		// stdout stays the signed note, for a file or a pipe.
		fmt.Fprintln(e.stderr, said)
	}
	_, err = e.stdout.Write(signed)
	return err
}

// witnessCheck proves, with the gateway's consistency proof, that cp
// extends the checkpoint kept in file: the log was only appended to.
// It says what it found.
func witnessCheck(ctx context.Context, g *gatewayClient, file string, cp audit.Checkpoint, reg *trust.Registry) (string, error) {
	old, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("witness: first checkpoint kept in %s (%d events); the next run checks that the log extends it", file, cp.Size), nil
	} else if err != nil {
		return "", err
	}
	prev, _, err := audit.OpenGatewayCheckpoint(old, reg)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	switch {
	case prev.Origin != cp.Origin:
		return "", fmt.Errorf("checkpoint of %s, the witness file holds one of %s", cp.Origin, prev.Origin)
	case cp.Size < prev.Size:
		return "", fmt.Errorf("%w: the gateway signs %d events, %d were signed before: the log was cut", audit.ErrDropped, cp.Size, prev.Size)
	case cp.Size == prev.Size:
		if cp.Root != prev.Root {
			return "", fmt.Errorf("%w: two roots for %d events", audit.ErrRootMismatch, cp.Size)
		}
		return fmt.Sprintf("witness: the same %d events as the checkpoint kept in %s", cp.Size, file), nil
	}
	_, proof, err := g.proof(ctx, url.Values{"from": {fmt.Sprint(prev.Size)}, "size": {fmt.Sprint(cp.Size)}})
	if err != nil {
		return "", err
	}
	if err := tlog.CheckTree(proof, cp.Size, cp.Root, prev.Size, prev.Root); err != nil {
		return "", fmt.Errorf("%w: the log of %d events does not extend the one of %d seen before: %w", audit.ErrRootMismatch, cp.Size, prev.Size, err)
	}
	return fmt.Sprintf("witness: the log of %d events extends the %d kept in %s (consistency proof checked)", cp.Size, prev.Size, file), nil
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
	store, err := openTrust(g.data, e)
	if err != nil {
		return err
	}
	p, proof, err := g.proof(ctx, url.Values{"event": {*id}})
	if err != nil {
		return err
	}
	if p.Index == nil {
		return fmt.Errorf("proof: not an inclusion proof: %s kind", p.Kind)
	}
	cp, signer, err := audit.OpenGatewayCheckpoint([]byte(p.Checkpoint), store.Current())
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
	if err := tlog.CheckRecord(proof, cp.Size, cp.Root, *p.Index, tlog.RecordHash(leaf)); err != nil {
		return fmt.Errorf("%w: event %s is not leaf %d of the signed log of %d events: %w", audit.ErrRootMismatch, *id, *p.Index, cp.Size, err)
	}
	fmt.Fprintf(e.stdout, "event %s is leaf %d of %s, whose %d events %s signed (root %s)\n%s\n",
		*id, *p.Index, cp.Origin, cp.Size, signer, base64.StdEncoding.EncodeToString(cp.Root[:]), leaf)
	return nil
}

// proof asks the gateway for a proof and decodes its hashes; checking it
// is the caller's.
func (g *gatewayClient) proof(ctx context.Context, q url.Values) (gateway.ProofResponse, []tlog.Hash, error) {
	var p gateway.ProofResponse
	b, err := g.get(ctx, "/v1/audit/proof", q)
	if err != nil {
		return p, nil, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, nil, fmt.Errorf("proof: %w", err)
	}
	hashes, err := decodeHashes(p.Proof)
	return p, hashes, err
}

// decodeHashes reads the base64 hashes of a proof the gateway served.
func decodeHashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		h, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(h) != len(tlog.Hash{}) {
			return nil, fmt.Errorf("proof: hash %d malformed", i)
		}
		copy(out[i][:], h)
	}
	return out, nil
}
