package connectors_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/hr"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
)

// rows is a source that holds its rows in memory.
type rows []connectors.Row

func (r rows) Read(_ context.Context, pos connectors.Position, max int) ([]connectors.Row, connectors.Position, error) {
	if pos != "" {
		return nil, pos, nil
	}
	return r, "end", nil
}
func (rows) Commit(context.Context, connectors.Position) error { return nil }
func (rows) Reread(context.Context, string) (connectors.Row, error) {
	return connectors.Row{}, errors.New("not kept")
}
func (rows) Close() error { return nil }

func employment(key, nir string) connectors.Row {
	return connectors.Row{Key: key, Version: "1", At: key, Data: connectors.Fields{
		"nir": nir, "employer_siret": "11000201100044", "employer_name": "DGFIP", "corps": "inspecteurs",
		"grade": "inspecteur", "category": "A", "status": "TENURED", "start_date": "2019-09-01",
		"working_time_percent": "100", "gross_monthly_pay_cents": "345600", "updated_at": "2026-01-05T10:00:00Z",
	}}
}

// Every published record carries a link header that the gateway's opener
// opens to the citizen's link id, the same in every domain, though no two
// headers share their bytes; and a header does not open for another record.
func TestRecordsCarryLinkHeaders(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	drop(t, w.dir, "payments-0001.csv", validRows...)
	fin, _ := w.runner(t, 10)
	if err := fin.Run(ctx, true); err != nil {
		t.Fatal(err)
	}
	d, _ := domains.ByName("hr")
	wr := w.client.NewWriter(nil, bus.WithBalancer(bus.ByPartition{}))
	t.Cleanup(func() { wr.Close() })
	hrRunner, err := connectors.NewRunner(connectors.Options{
		Member: "cnaf", Domain: "hr", Subject: d.Subject(), Mapping: hr.Mapping{}, Pseudo: pseudo.New(w.kr),
		Source: rows{employment("E1", "184077505612372"), employment("E2", "284072A00412387")},
		Link:   linker(t, w.kr, "hr"), Codec: w.codec, Sealer: seal.NewSealer(w.signer), Writer: wr,
		Partitions: 3, DLQPartitions: 3, Checkpoint: connectors.NewCheckpoint(filepath.Join(t.TempDir(), "cp.json")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := hrRunner.Run(ctx, true); err != nil {
		t.Fatal(err)
	}

	nirs := []string{"184077505612372", "284072A00412387", "184072B03300195", "284071900412387"}
	ids, err := link.IDs(ctx, w.kr, nirs)
	if err != nil {
		t.Fatal(err)
	}
	opener, err := link.NewOpener(ctx, w.kr, []string{"finance", "hr"})
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		domain, subject, recordID string
		header                    []byte
	}
	byCitizen := map[link.ID][]rec{}
	var all []rec
	for _, dom := range []string{"finance", "hr"} {
		d, _ := domains.ByName(dom)
		// subject → the citizen's link id, as the connector computed it
		want := map[string]link.ID{}
		subjects, _ := pseudo.New(w.kr).Domain(ctx, dom, nirs)
		for i, s := range subjects {
			want[s] = ids[i]
		}
		for _, m := range w.read(t, d.Topic()) {
			_, meta, err := d.Decode(w.codec, m.Value)
			if err != nil {
				t.Fatal(err)
			}
			r := rec{dom, meta.Subject, meta.RecordID, header_(m, link.Header)}
			id, err := opener.Open(dom, r.subject, r.recordID, r.header)
			if err != nil || id != want[r.subject] {
				t.Fatalf("%s record %s: link %x, %v; want %x", dom, r.recordID, id, err, want[r.subject])
			}
			byCitizen[id] = append(byCitizen[id], r)
			all = append(all, r)
		}
	}
	if len(all) != len(validRows)+2 {
		t.Fatalf("%d records, want %d", len(all), len(validRows)+2)
	}
	// 184077505612372: two payments and one employment; 284072A00412387:
	// one of each. Same id across domains, different headers.
	for i, n := range []int{3, 2} {
		got := byCitizen[ids[i]]
		if len(got) != n || got[0].domain != "finance" || got[n-1].domain != "hr" {
			t.Errorf("citizen %d: linked records %+v, want %d across finance and hr", i, got, n)
		}
	}
	for i := range all {
		for j := range i {
			if bytes.Equal(all[i].header, all[j].header) {
				t.Errorf("records %s and %s carry the same link header", all[i].recordID, all[j].recordID)
			}
		}
	}
	// A header copied onto the citizen's other record does not open there.
	a, b := byCitizen[ids[0]][0], byCitizen[ids[0]][1]
	if _, err := opener.Open(b.domain, b.subject, b.recordID, a.header); !errors.Is(err, link.ErrForged) {
		t.Errorf("a header moved to another record: %v, want ErrForged", err)
	}
}
