package domains_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/interop"
)

// A stock Confluent client (confluent-kafka + its SchemaRegistryClient,
// decoding with Apache Avro) reads every domain's topic we wrote, through
// our registry API mounted where the gateway mounts it. Debian's kcat
// cannot be the witness here: it is built without Avro/Schema-Registry
// support.
func TestConfluentClientReadsOurTopics(t *testing.T) {
	py := interop.Python(t, "confluent_kafka.schema_registry, avro.io, requests")
	cat := catalog(t)
	mux := http.NewServeMux()
	mux.Handle("/registry/", http.StripPrefix("/registry", cat.Handler()))
	reg := httptest.NewServer(mux)
	defer reg.Close()

	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		c := tg.Client(t)
		for _, d := range domains.All() {
			t.Run(d.Name, func(t *testing.T) {
				// The topic must be the subject's, so the client's lookups
				// by topic name land on our subject.
				topic := d.Topic()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := c.EnsureTopics(ctx, bus.TopicSpec{Name: topic, Partitions: 1, Cleanup: bus.CleanupCompact}); err != nil {
					t.Fatal(err)
				}
				subj, _ := cat.Subject(d.Subject())
				// The real broker keeps the topic between runs: mark this
				// run's keys.
				suffix := fmt.Sprintf("-%d-%s", time.Now().UnixNano(), tg.Name)
				var msgs []bus.Message
				for _, v := range subj.Versions {
					val, _ := os.ReadFile(goldenPath(d, v))
					msgs = append(msgs, bus.Message{Topic: topic, Key: fmt.Appendf(nil, "k%d%s", v.Version, suffix), Value: val,
						Headers: []bus.Header{{Key: "passerelle-sig", Value: []byte("sig")}}})
				}
				w := c.NewWriter(nil)
				defer w.Close()
				if err := w.Write(ctx, msgs...); err != nil {
					t.Fatal(err)
				}

				args := []string{"testdata/confluent_consume.py", topic, reg.URL + "/registry", suffix, strconv.Itoa(len(msgs))}
				for k, v := range tg.Librdkafka(t, "admin") {
					args = append(args, k+"="+v)
				}
				cmd := exec.CommandContext(ctx, py, args...)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("confluent client: %v\n%s", err, interop.Stderr(err))
				}
				lines := strings.Split(strings.TrimSpace(string(out)), "\n")
				var ok int
				for _, l := range lines[:len(lines)-1] {
					var rec struct {
						Key     string
						ID      int
						Magic   int
						Headers map[string]string
						Datum   map[string]any
					}
					if err := json.Unmarshal([]byte(l), &rec); err != nil {
						t.Fatal(err)
					}
					meta, _ := rec.Datum["meta"].(map[string]any)
					if rec.Magic != 0 || rec.Headers["passerelle-sig"] != "sig" || meta["record_id"] != domain.SampleMeta(d.Name).RecordID {
						t.Errorf("record as the Confluent client read it: %+v", rec)
					}
					if d.Name == "tax" && (rec.Datum["household_id"] != "7512345678901" || rec.Datum["shares"] != "2.50") {
						t.Errorf("household as the Confluent client read it: %+v", rec.Datum)
					}
					ok++
				}
				if ok != len(msgs) {
					t.Errorf("read %d of our %d records", ok, len(msgs))
				}
				var summary struct {
					Subjects      []string
					Versions      []int
					Latest        struct{ Version, ID int }
					Lookup        struct{ Version, ID int }
					Compatibility string
				}
				if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
					t.Fatal(err)
				}
				latest := subj.Latest()
				if len(summary.Subjects) != len(domains.All()) || len(summary.Versions) != len(subj.Versions) || summary.Latest.ID != latest.ID ||
					summary.Lookup.ID != latest.ID || summary.Compatibility != string(subj.Compatibility) {
					t.Errorf("registry as the Confluent client saw it: %+v", summary)
				}
			})
		}
	})
}
