package connect_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/connect"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/schemas"
)

// After a defective row is fixed in its source, --replay-dlq rereads it and
// publishes it; the rows still wrong are dead-lettered again, once.
func TestReplayDeadLettersAfterAFix(t *testing.T) {
	ctx := context.Background()
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	if err := client.EnsureTopics(ctx, domains.Topics(3)...); err != nil {
		t.Fatal(err)
	}
	p := synth.Generate(400, 3, synth.Options{DefectRate: 0.05})
	dsn := filepath.Join(t.TempDir(), "tax.sqlite")
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := synth.WriteTax(ctx, db, synth.SQLite, p); err != nil {
		t.Fatal(err)
	}
	members, specs := specsFor("replay")
	w := trusttest.New(t, specs)
	pseudo.NewFileKeyring(filepath.Join(w.Dir, "pseudo")).Ensure(pseudo.KeyNames(domains.Names())...)
	cat, _ := domains.Catalog()
	codec := schemas.NewCodec(cat)
	cfg := connect.Config{Member: members["tax"], Domain: "tax", Data: w.Dir, Kafka: tg.Config(),
		Source: connect.SourceConfig{Driver: "sqlite", DSN: dsn}}
	c, err := connect.Open(ctx, cfg, connect.Deps{Bus: client, Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Run(ctx, true); err != nil {
		t.Fatal(err)
	}
	m := p.Manifest[synth.DomainTax]
	before := consume(t, client, w.Store(t), codec, "tax", members["tax"])
	if len(before.byID) != len(m.Valid) || len(before.dead) != len(m.Defective) {
		t.Fatalf("first run: %d records, %d dead letters", len(before.byID), len(before.dead))
	}

	// The tax office fixes one row with a bad NIR key.
	var fixed string
	for _, d := range m.Defective {
		if d.Defect.Kind == synth.DefectNIRKey {
			fixed = d.Key
			break
		}
	}
	if fixed == "" {
		t.Fatal("no NIR-key defect to fix")
	}
	if _, err := db.ExecContext(ctx, "UPDATE household_assessment SET nir = $1, updated_at = $2 WHERE id = $3",
		p.Citizens[0].NIR, time.Now().UTC().Format(time.RFC3339), fixed); err != nil {
		t.Fatal(err)
	}

	r, err := client.NewGroupReader("replay-test", []string{bus.DLQTopic("tax")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	st, err := connectors.ReplayDeadLetters(ctx, c.Runner, c.Source, r, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mine != len(m.Defective) || st.Published != 1 || st.StillDead != len(m.Defective)-1 {
		t.Fatalf("replay: %+v, want %d replayed, 1 published", st, len(m.Defective))
	}
	after := consume(t, client, w.Store(t), codec, "tax", members["tax"])
	if len(after.byID) != len(m.Valid)+1 {
		t.Fatalf("%d records after the replay, want %d", len(after.byID), len(m.Valid)+1)
	}
	// A second replay starts after the committed offsets: it sees only the
	// letters the first one wrote for rows still wrong, and publishes none.
	st2, err := connectors.ReplayDeadLetters(ctx, c.Runner, c.Source, r, 3*time.Second)
	if err != nil || st2.Published != 0 {
		t.Fatalf("second replay: %+v %v", st2, err)
	}
}
