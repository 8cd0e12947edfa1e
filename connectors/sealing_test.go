package connectors_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/filedrop"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/datakeys"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/finance"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/schemas"
)

// A connector with sealing publishes each citizen's key before any record
// sealed with it, and records whose personal fields only a key holder
// reads: opened with the keys from the key topic, each is the record the
// connector would have published in clear, byte for byte.
func TestRunnerSealsPersonalFields(t *testing.T) {
	ctx := context.Background()
	w := setup(t)
	drop(t, w.dir, "payments-0001.csv", validRows...)
	subject := "passerelle.finance.payment.v1-value"
	sub, err := w.codec.Catalog().Subject(subject)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := domains.ByName("finance")
	k := kek.NewFiles(t.TempDir())
	ledger := follow(t, datakeys.New("finance", k, w.store, datakeys.Options{}), w.client)
	sealing, err := datakeys.NewSealing(ledger, seal.NewSealer(w.signer), sub, d.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	src, err := filedrop.New(w.dir, "*.csv", finance.Layout)
	if err != nil {
		t.Fatal(err)
	}
	wr := w.client.NewWriter(nil, bus.WithBalancer(bus.ByPartition{}))
	defer wr.Close()
	r, err := connectors.NewRunner(connectors.Options{
		Member: "cnaf", Domain: "finance", Subject: subject, Source: src, Mapping: finance.Mapping{}, Pseudo: pseudo.New(w.kr),
		Link: linker(t, w.kr, "finance"), Codec: w.codec, Sealer: seal.NewSealer(w.signer), BatchSigning: true,
		Writer: wr, Partitions: 3, DLQPartitions: 3, Sealing: sealing,
		Checkpoint: connectors.NewCheckpoint(filepath.Join(t.TempDir(), "cp.json")), BatchSize: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx, true); err != nil {
		t.Fatal(err)
	}

	// A gateway's ledger, from the key topic.
	keyRecords := w.read(t, bus.KeyTopic("finance"))
	gw := follow(t, datakeys.New("finance", k, w.store, datakeys.Options{}), w.client)
	for _, why := range []string{"forged", "malformed", "conflict", "erased", "unknown-epoch", "stale"} {
		if n := testutil.ToFloat64(gw.Rejected(why)); n > 0 {
			t.Fatalf("%v key records refused: %s", n, why)
		}
	}
	if len(keyRecords) != 1+4 { // an epoch, and one key per citizen (P1 and P5 are one)
		t.Fatalf("%d key records, want an epoch and 4 keys", len(keyRecords))
	}

	sealed := sub.Sealed[sub.Latest().Version]
	plan, _ := fieldcrypt.NewPlan("finance", sub.Latest().Schema, d.Sealed())
	v := seal.NewVerifier(w.store)
	recs := w.read(t, "passerelle.finance.payment.v1")
	if len(recs) != len(validRows) {
		t.Fatalf("%d records", len(recs))
	}
	for _, m := range recs {
		if id, _ := schemas.SchemaID(m.Value); id != sealed.ID {
			t.Fatalf("schema id %d, want the sealed schema's %d", id, sealed.ID)
		}
		// Anyone reads the clear fields and verifies the signature.
		var generic map[string]any
		if err := avro.Unmarshal(sealed.Schema, m.Value[schemas.HeaderSize:], &generic); err != nil {
			t.Fatal(err)
		}
		meta := generic["meta"].(map[string]any)
		if _, err := v.Verify(seal.Record{Domain: "finance", Key: m.Key, Value: m.Value, Batch: header_(m, seal.HeaderBatch),
			Source: meta["source"].(string), Subject: meta["subject"].(string)}); err != nil {
			t.Fatalf("a sealed record does not verify: %v", err)
		}
		for _, f := range d.Sealed() {
			if _, ok := generic[f].([]byte); !ok {
				t.Fatalf("%s is %T on the log, want an envelope", f, generic[f])
			}
		}
		if _, ok := generic["payer"].(string); !ok {
			t.Fatalf("payer, a dimension, is %T: it stays in clear", generic["payer"])
		}
		// The gateway opens it with the key from the key topic.
		subj, rid := meta["subject"].(string), meta["record_id"].(string)
		body, err := plan.Open(nil, m.Value[schemas.HeaderSize:], subj, rid, func(id fieldcrypt.KeyID) ([32]byte, error) {
			return gw.Key(ctx, subj, id)
		})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		var p finance.Payment
		clear := append(schemas.AppendHeader(nil, sub.Latest().ID), body...)
		if _, err := w.codec.Decode(clear, subject, nil, &p); err != nil || p.Payer == "" || p.PaymentID == "" {
			t.Fatalf("opened record: %+v, %v", p, err)
		}
	}
}

// follow runs l's follower until the test ends, once it has read its
// topic to the end.
func follow(t *testing.T, l *datakeys.Ledger, c *bus.Client) *datakeys.Ledger {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Follow(ctx, c) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(30 * time.Second); !l.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the key topic was not read to its end")
		}
	}
	return l
}
