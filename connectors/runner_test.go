package connectors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/filedrop"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/finance"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/schemas"
)

const header = "payment_id;nir;benefit;period_start;period_end;amount_cents;payer;payment_date;status\n"

var validRows = []string{
	"P1;184077505612372;HOUSING_AID;2026-02-01;2026-02-28;23150;CAF 75;2026-03-05;PAID",
	"P2;284072A00412387;MINIMUM_INCOME;2026-02-01;2026-02-28;60700;CAF 2A;2026-03-05;PAID",
	"P3;184072B03300195;PENSION;2026-02-01;2026-02-28;145000;CARSAT;2026-03-01;PENDING",
	"P4;284071900412387;OTHER;2026-01-01;2026-01-31;0;CAF 19;2026-02-05;CANCELLED",
	"P5;184077505612372;FAMILY_ALLOWANCE;2026-03-01;2026-03-31;14000;CAF 75;2026-04-05;PAID",
}

var badRows = map[string]string{
	"B1;184077505612373;HOUSING_AID;2026-02-01;2026-02-28;100;CAF 75;2026-03-05;PAID": connectors.DefectNIR,
	"B2;184077505612372;HOUSING_AID;2026-02-01;2026-02-28;-5;CAF 75;2026-03-05;PAID":  connectors.DefectAmount,
	"B3;184077505612372;LOTTERY;2026-02-01;2026-02-28;5;CAF 75;2026-03-05;PAID":       connectors.DefectEnum,
	"B4;184077505612372;HOUSING_AID;2026-02-28;2026-02-01;5;CAF 75;2026-03-05;PAID":   connectors.DefectPeriod,
	"B5;184077505612372;HOUSING_AID;2026-02-01":                                       connectors.DefectRow,
}

type world struct {
	kr     *pseudo.FileKeyring
	signer *seal.KeySigner
	tg     bustest.Target
	client *bus.Client
	store  *trust.Store
	codec  *schemas.Codec
	dir    string
	runner func(t *testing.T, batch int) (*connectors.Runner, *filedrop.Source)
}

func setup(t *testing.T) *world {
	tg := bustest.Embedded(t)
	c := tg.Client(t)
	ctx := context.Background()
	if err := c.EnsureTopics(ctx, domains.Topics(3)...); err != nil {
		t.Fatal(err)
	}
	tw := trusttest.New(t, []trust.MemberSpec{{ID: "cnaf", Name: "CNAF", Roles: []string{"publisher:finance"}}})
	kr := pseudo.NewFileKeyring(filepath.Join(t.TempDir(), "pseudo"))
	if err := kr.Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
		t.Fatal(err)
	}
	cat, _ := domains.Catalog()
	w := &world{kr: kr, signer: tw.Signer(t, "cnaf"), tg: tg, client: c, store: tw.Store(t), codec: schemas.NewCodec(cat), dir: t.TempDir()}
	state := filepath.Join(t.TempDir(), "checkpoint.json")
	w.runner = func(t *testing.T, batch int) (*connectors.Runner, *filedrop.Source) {
		src, err := filedrop.New(w.dir, "*.csv", finance.Layout)
		if err != nil {
			t.Fatal(err)
		}
		wr := c.NewWriter(nil, bus.WithBalancer(bus.ByPartition{}))
		t.Cleanup(func() { wr.Close() })
		r, err := connectors.NewRunner(connectors.Options{
			Member: "cnaf", Domain: "finance", Subject: "passerelle.finance.payment.v1-value", Source: src, Mapping: finance.Mapping{}, Pseudo: pseudo.New(kr),
			Link: linker(t, kr, "finance"), Codec: w.codec, Sealer: seal.NewSealer(w.signer), BatchSigning: true,
			Writer: wr, Partitions: 3, DLQPartitions: 3,
			Checkpoint: connectors.NewCheckpoint(state), BatchSize: batch,
		})
		if err != nil {
			t.Fatal(err)
		}
		return r, src
	}
	return w
}

func linker(t *testing.T, kr pseudo.Keyring, domain string) *link.Sealer {
	t.Helper()
	s, err := link.NewSealer(context.Background(), kr, domain)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func drop(t *testing.T, dir, name string, rows ...string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o755)
	tmp := filepath.Join(dir, "tmp-"+name)
	os.WriteFile(tmp, []byte(header+strings.Join(rows, "\n")+"\n"), 0o644)
	if err := os.Rename(tmp, filepath.Join(dir, "inbox", name)); err != nil {
		t.Fatal(err)
	}
}

// read returns every record of topic.
func (w *world) read(t *testing.T, topic string) []bus.Message {
	t.Helper()
	var mu sync.Mutex
	var out []bus.Message
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.client.Replay(ctx, topic, bus.ReplayOptions{}, func(m bus.Message) error {
		mu.Lock()
		out = append(out, m)
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func header_(m bus.Message, k string) []byte {
	for _, h := range m.Headers {
		if h.Key == k {
			return h.Value
		}
	}
	return nil
}

func TestRunnerPublishesVerifiedRecordsAndDeadLetters(t *testing.T) {
	w := setup(t)
	var rows []string
	rows = append(rows, validRows...)
	for r := range badRows {
		rows = append(rows, r)
	}
	drop(t, w.dir, "payments-0001.csv", rows...)
	// A file whose header is not the declared layout is refused whole.
	os.WriteFile(filepath.Join(w.dir, "inbox", "payments-0002.csv"), []byte("wrong;header\nx;y\n"), 0o644)

	r, _ := w.runner(t, 3)
	if err := r.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}

	v := seal.NewVerifier(w.store)
	recs := w.read(t, "passerelle.finance.payment.v1")
	seenIDs := map[string]bool{}
	for _, m := range recs {
		var p finance.Payment
		if _, err := w.codec.Decode(m.Value, "passerelle.finance.payment.v1-value", nil, &p); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(seal.Record{Domain: "finance", Key: m.Key, Value: m.Value,
			Batch: header_(m, seal.HeaderBatch), Source: p.Meta.Source, Subject: p.Meta.Subject}); err != nil {
			t.Fatalf("record %s does not verify: %v", p.PaymentID, err)
		}
		seenIDs[p.PaymentID] = true
	}
	if len(recs) != len(validRows) || len(seenIDs) != len(validRows) {
		t.Fatalf("%d records (%v), want the %d valid rows once each", len(recs), seenIDs, len(validRows))
	}

	dead := w.read(t, "passerelle.dlq.finance")
	codes := map[string]string{}
	for _, m := range dead {
		var dl connectors.DeadLetter
		json.Unmarshal(m.Value, &dl)
		codes[dl.Key] = dl.Code
	}
	for row, code := range badRows {
		key := strings.SplitN(row, ";", 2)[0]
		if key == "B5" {
			key = "line 10" // an unparseable line has no payment id
			for k, c := range codes {
				if strings.HasPrefix(k, "line ") && c == connectors.DefectRow {
					key = k
				}
			}
		}
		if codes[key] != code {
			t.Errorf("row %s: dead letter %q, want %q", key, codes[key], code)
		}
	}
	if codes["payments-0002.csv"] != connectors.DefectFile {
		t.Errorf("unreadable file: dead letter %q, want %q (all: %v)", codes["payments-0002.csv"], connectors.DefectFile, codes)
	}
	for _, f := range []string{"done/payments-0001.csv", "rejected/payments-0002.csv"} {
		if _, err := os.Stat(filepath.Join(w.dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	// No NIR anywhere on the bus, not even in dead letters.
	for _, topic := range []string{"passerelle.finance.payment.v1", "passerelle.dlq.finance"} {
		for _, m := range w.read(t, topic) {
			for _, nir := range []string{"184077505612372", "284072A00412387", "184072B03300195", "284071900412387", "184077505612373"} {
				if bytes.Contains(m.Value, []byte(nir)) || bytes.Contains(m.Key, []byte(nir)) {
					t.Fatalf("a NIR is on %s: %s", topic, m.Value)
				}
			}
		}
	}
}

// A runner stopped in the middle of a file, and a new one started from the
// checkpoint, publish every row with nothing missing and nothing different.
func TestRunnerResumesInsideAFile(t *testing.T) {
	w := setup(t)
	drop(t, w.dir, "payments-0001.csv", validRows...)
	r1, _ := w.runner(t, 2)
	if _, err := r1.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r1.Position() != "payments-0001.csv#2" {
		t.Fatalf("position after one batch of 2: %q", r1.Position())
	}
	r2, _ := w.runner(t, 2)
	if err := r2.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	byID := map[string][]byte{}
	for _, m := range w.read(t, "passerelle.finance.payment.v1") {
		var p finance.Payment
		w.codec.Decode(m.Value, "passerelle.finance.payment.v1-value", nil, &p)
		if prev, ok := byID[p.Meta.RecordID]; ok && !bytes.Equal(prev, m.Value) {
			t.Fatalf("record %s published twice with different content", p.Meta.RecordID)
		}
		byID[p.Meta.RecordID] = m.Value
	}
	if len(byID) != len(validRows) {
		t.Fatalf("%d distinct records, want %d", len(byID), len(validRows))
	}
}

// unreachable is a source whose system does not answer.
type unreachable struct{ reads int }

func (u *unreachable) Read(context.Context, connectors.Position, int) ([]connectors.Row, connectors.Position, error) {
	u.reads++
	return nil, "", errors.New("dial tcp 10.0.0.1:5432: connection refused")
}
func (u *unreachable) Commit(context.Context, connectors.Position) error { return nil }
func (u *unreachable) Reread(context.Context, string) (connectors.Row, error) {
	return connectors.Row{}, errors.New("unreachable")
}
func (u *unreachable) Close() error { return nil }

// A batch job (until idle) whose source does not answer ends with the
// source's error after a few attempts, instead of retrying for ever; a
// polling connector keeps retrying until it is stopped.
func TestRunUntilIdleGivesUpOnAnUnreachableSource(t *testing.T) {
	w := setup(t)
	kr := pseudo.NewFileKeyring(filepath.Join(t.TempDir(), "pseudo"))
	kr.Ensure(pseudo.KeyNames(domains.Names())...)
	tw := trusttest.New(t, []trust.MemberSpec{{ID: "cnaf", Name: "CNAF", Roles: []string{"publisher:finance"}}})
	wr := w.client.NewWriter(nil)
	t.Cleanup(func() { wr.Close() })
	src := &unreachable{}
	r, err := connectors.NewRunner(connectors.Options{
		Member: "cnaf", Domain: "finance", Subject: "passerelle.finance.payment.v1-value", Source: src, Mapping: finance.Mapping{},
		Pseudo: pseudo.New(kr), Link: linker(t, kr, "finance"), Codec: w.codec, Sealer: seal.NewSealer(tw.Signer(t, "cnaf")), Writer: wr, Partitions: 3, DLQPartitions: 3,
		Checkpoint: connectors.NewCheckpoint(filepath.Join(t.TempDir(), "cp.json")), GiveUpAfter: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(context.Background(), true)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || src.reads != 3 {
		t.Fatalf("until idle: %v after %d reads, want the source's error after 3", err, src.reads)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.Run(ctx, false); !errors.Is(err, context.DeadlineExceeded) || src.reads <= 6 {
		t.Fatalf("polling: %v after %d reads, want retries until stopped", err, src.reads)
	}
}
