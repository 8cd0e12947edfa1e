package view_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/schemas"
)

// The view of a small population published by the real connector code:
// every citizen's tax record is found under their tax pseudonym; a record
// tampered on the topic is refused and counted; the disk index rebuilt from
// nothing holds the same.
func TestViewFromTheLog(t *testing.T) {
	ctx := context.Background()
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	if err := client.EnsureTopics(ctx, bus.StandardTopics(3)...); err != nil {
		t.Fatal(err)
	}
	p := synth.Generate(300, 9, synth.Options{DefectRate: synth.NoDefects})
	dsn := filepath.Join(t.TempDir(), "tax.sqlite")
	db, _ := sql.Open("sqlite", dsn)
	defer db.Close()
	if err := synth.WriteTax(ctx, db, synth.SQLite, p); err != nil {
		t.Fatal(err)
	}
	w := trusttest.New(t, []trust.MemberSpec{{ID: "dgfip", Name: "DGFiP", Roles: []string{"publisher:tax"}}})
	kr := pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo"))
	kr.Ensure(pseudo.KeyNames(bus.Domains())...)
	cat, _ := schemas.Load(schemas.Embedded())
	codec := schemas.NewCodec(cat)
	c, err := connect.Open(ctx, connect.Config{Member: "dgfip", Domain: "tax", Data: w.Dir, Kafka: bus.Config{Brokers: tg.Brokers},
		Source: connect.SourceConfig{Driver: "sqlite", DSN: dsn}}, connect.Deps{Bus: client, Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx, true); err != nil {
		t.Fatal(err)
	}
	c.Close()

	// A tampered copy of a genuine record, published straight onto the topic.
	var genuine kafka.Message
	var mu sync.Mutex // the callback runs once per partition, concurrently
	client.Replay(ctx, "passerelle.tax.household.v1", bus.ReplayOptions{}, func(m kafka.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if genuine.Value == nil {
			genuine = m
		}
		return nil
	})
	// Another household id, still valid Avro: only the signature can tell.
	var h schemas.Household
	if _, err := codec.Decode(genuine.Value, "passerelle.tax.household.v1-value", nil, &h); err != nil {
		t.Fatal(err)
	}
	forged := genuine
	forged.Value = append([]byte(nil), genuine.Value...)
	i := bytes.Index(forged.Value, []byte(h.HouseholdID))
	forged.Value[i] = '0' + (forged.Value[i]-'0'+1)%10
	forged.Partition, forged.Offset = genuine.Partition, 0
	wr := client.NewWriter(nil, bus.WithBalancer(bus.ByPartition{}))
	if err := wr.Write(ctx, forged); err != nil {
		t.Fatal(err)
	}
	wr.Close()

	ps := pseudo.New(kr)
	for name, open := range map[string]func() view.Store{
		"memory": func() view.Store { return view.NewMemory() },
		"disk": func() view.Store {
			s, err := view.OpenDisk(filepath.Join(t.TempDir(), "view.db"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			store := open()
			defer store.Close()
			reg := prometheus.NewRegistry()
			ix := view.New(store, codec, w.Store(t), reg, nil)
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- ix.Run(rctx, client) }()
			select {
			case <-ix.Ready():
			case <-time.After(30 * time.Second):
				t.Fatal("view never caught up")
			}
			cancel()
			<-done

			nirs := make([]string, len(p.Citizens))
			for i, c := range p.Citizens {
				nirs[i] = c.NIR
			}
			subjects, _ := ps.Domain(ctx, "tax", nirs)
			found := 0
			for i, s := range subjects {
				r, ok, err := ix.Lookup("tax", s)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					continue // minors not in a household are still rows; adults without one are not
				}
				found++
				h := r.Value.(*schemas.Household)
				if r.Meta.Subject != s || r.Meta.Source != "dgfip" || r.KeyID == "" || h.TaxYear != 2025 {
					t.Fatalf("citizen %d: %+v", i, r)
				}
			}
			if want := len(p.Manifest[synth.DomainTax].Valid); found != want {
				t.Fatalf("%d citizens found in the view, want %d", found, want)
			}
			if n := testutil.ToFloat64(ix.Rejected("tax", "bad-signature")); n != 1 {
				t.Fatalf("%v tampered records counted, want 1", n)
			}
		})
	}
}
