package pensions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/sqlpoll"
	"github.com/passerelle-bus/passerelle/internal/synth"
)

// The fund's table is consistent with the population: only citizens who
// retired, between 62 and 67; the dead's pensions ended on their death; a
// living retiree's net amount is the income the tax office assessed, the
// one the benefits payer's ledger pays; defective rows belong to nobody.
func TestEntitlementsAreConsistentWithThePopulation(t *testing.T) {
	p := synth.Generate(5000, 11, synth.Options{})
	src := source(p)
	rows := rowsOf(t, src)
	byNIR := map[string]*synth.Citizen{}
	for i := range p.Citizens {
		byNIR[p.Citizens[i].NIR] = &p.Citizens[i]
	}
	pensionPaid := map[string]int64{}
	for _, pr := range p.Payments {
		if pr.Benefit == "PENSION" && pr.Defect.Kind == "" {
			pensionPaid[pr.NIR] = pr.AmountCents
		}
	}
	var valid, defective, ended, sameAsLedger int
	for _, e := range rows {
		c, citizen := byNIR[e.NIR]
		if e.Defect.Kind != "" {
			defective++
			if citizen {
				t.Fatalf("defective row %d belongs to citizen %s", e.ID, e.NIR)
			}
			continue
		}
		valid++
		if !citizen {
			t.Fatalf("row %d: %s is no citizen", e.ID, e.NIR)
		}
		start, _ := time.Parse(time.DateOnly, e.StartDate)
		if age := yearsAt(c.BirthDate, start); age < 62 || age > 67 {
			t.Errorf("%s retired at %d", e.NIR, age)
		}
		if start.After(p.AsOf) {
			t.Errorf("%s retires on %s, after today", e.NIR, e.StartDate)
		}
		switch {
		case !c.Alive():
			ended++
			if e.Status != "ENDED" || e.EndDate != day(c.DeathDate) {
				t.Errorf("%s died on %s: status %s, end %q", e.NIR, day(c.DeathDate), e.Status, e.EndDate)
			}
		case e.Status == "ENDED" || e.EndDate != "":
			t.Errorf("%s is alive: status %s, end %q", e.NIR, e.Status, e.EndDate)
		case e.Net != max(c.Income/12, minimumNet):
			t.Errorf("%s: net %d, the assessed income gives %d", e.NIR, e.Net, max(c.Income/12, minimumNet))
		}
		if paid, ok := pensionPaid[e.NIR]; ok && paid == e.Net {
			sameAsLedger++
		}
		if e.Net > e.Gross || e.Gross > e.Net*12/10 {
			t.Errorf("%s: gross %d, net %d", e.NIR, e.Gross, e.Net)
		}
	}
	if valid < 500 || ended == 0 {
		t.Fatalf("%d entitlements, %d ended, for 5,000 citizens", valid, ended)
	}
	if share := float64(defective) / float64(len(rows)); share < 0.005 || share > 0.02 {
		t.Errorf("defective share %.3f, want about %.2f", share, p.DefectRate)
	}
	if sameAsLedger < len(pensionPaid)/2 {
		t.Errorf("only %d of %d ledger pensions match an entitlement's net amount", sameAsLedger, len(pensionPaid))
	}
	t.Logf("%d entitlements (%d ended), %d defective, %d match the ledger's pension", valid, ended, defective, sameAsLedger)

	again := rowsOf(t, source(synth.Generate(5000, 11, synth.Options{})))
	if fmt.Sprint(again) != fmt.Sprint(rows) {
		t.Fatal("the same seed gave other rows")
	}
}

// Every row written, read back through the connector's own source and
// mapping: the valid ones map, each defective one is refused as a defect.
func TestMappingReadsWhatSynthWrites(t *testing.T) {
	p := synth.Generate(3000, 4, synth.Options{DefectRate: 0.05})
	src := source(p)
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "pensions.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := synth.WriteTable(ctx, db, synth.SQLite, *src.Table); err != nil {
		t.Fatal(err)
	}
	s, err := sqlpoll.New(db, Table)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{} // key → valid
	for _, e := range src.Manifest.Valid {
		want[e.Key] = true
	}
	for _, e := range src.Manifest.Defective {
		want[e.Key] = false
	}
	var pos connectors.Position
	seen := 0
	for {
		batch, next, err := s.Read(ctx, pos, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, row := range batch {
			seen++
			m, err := Mapping{}.Map(row)
			var d *connectors.Defect
			switch valid := want[row.Key]; {
			case valid && err != nil:
				t.Fatalf("valid row %s refused: %v", row.Key, err)
			case valid && m.Record.(*Entitlement).MonthlyNetCents <= 0:
				t.Fatalf("row %s mapped to %+v", row.Key, m.Record)
			case !valid && !errors.As(err, &d):
				t.Fatalf("defective row %s not refused as a defect: %v", row.Key, err)
			}
		}
		pos = next
	}
	if seen != src.Manifest.Total() {
		t.Fatalf("read %d rows of %d", seen, src.Manifest.Total())
	}
}

func rowsOf(t *testing.T, src synth.Source) []row {
	t.Helper()
	var out []row
	for i := range src.Table.Rows {
		a := src.Table.Row(nil, i)
		e := row{ID: a[0].(int64), NIR: a[1].(string), Scheme: a[2].(string), StartDate: a[3].(string),
			Quarters: a[4].(int64), Rate: a[5].(string), Gross: a[6].(int64), Net: a[7].(int64), Status: a[9].(string)}
		if s, ok := a[8].(string); ok {
			e.LastPayment = s
		}
		if s, ok := a[10].(string); ok {
			e.EndDate = s
		}
		e.Defect = defectOf(src.Manifest, strconv.FormatInt(e.ID, 10))
		out = append(out, e)
	}
	return out
}

func defectOf(m synth.Manifest, key string) synth.Defect {
	for _, e := range m.Defective {
		if e.Key == key {
			return e.Defect
		}
	}
	return synth.Defect{}
}

func yearsAt(birth, t time.Time) int {
	y := t.Year() - birth.Year()
	if t.Month() < birth.Month() || t.Month() == birth.Month() && t.Day() < birth.Day() {
		y--
	}
	return y
}
