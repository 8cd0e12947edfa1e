package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

var members = []trust.MemberSpec{
	{ID: "gw", Name: "Gateway", Roles: []string{"gateway"}},
	{ID: "gw2", Name: "Second gateway", Roles: []string{"gateway"}},
	{ID: "dgfip", Name: "DGFiP", Roles: []string{"publisher:tax", "reader"}},
}

// written is an honest log: events appended concurrently through the Log,
// checkpoints published by a gateway following the topic, read back.
type written struct {
	world   *trusttest.World
	store   *trust.Store
	topic   string
	records []audit.Record
}

// gateway is what a gateway runs on an audit topic: the log writing it,
// the trail following it, the publisher signing it; closed with the test.
type gateway struct {
	log   *audit.Log
	trail *audit.Trail
	pub   *audit.Publisher
}

func startGateway(tb testing.TB, ctx context.Context, client *bus.Client, signer seal.Signer, store *trust.Store, topic string, o audit.TrailOptions) gateway {
	tb.Helper()
	w := audit.NewWriter(client, nil)
	o.Topic = topic
	trail := audit.NewTrail(store, o)
	log, err := audit.NewLog(w, seal.NewSealer(signer), audit.LogOptions{Topic: topic, Expect: trail.Expect})
	if err != nil {
		tb.Fatal(err)
	}
	go log.Run(context.Background()) // Close stops it
	tb.Cleanup(func() { log.Close(); w.Close() })
	go trail.Follow(ctx, client, nil)
	ns, err := audit.GatewayNoteSigner(signer, store)
	if err != nil {
		tb.Fatal(err)
	}
	return gateway{log, trail, audit.NewPublisher(trail, ns, log, nil)}
}

func writeLog(t *testing.T, tg bustest.Target, n int) *written {
	return writeLogOf(t, tg, n, func(g, i int) audit.Event {
		return audit.Event{ID: fmt.Sprintf("ev-%d-%d", g, i), Time: time.Now(), Kind: audit.KindView, Requester: "cnaf",
			Citizen: "pseudo", Decision: "allow"}
	})
}

// writeLogOf writes n events, made by mk from a writing goroutine's number
// and the event's number within it.
func writeLogOf(t *testing.T, tg bustest.Target, n int, mk func(g, i int) audit.Event) *written {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := tg.Client(t)
	w := &written{world: trusttest.New(t, members), topic: bustest.Topic(t, client, 1)}
	w.store = w.world.Store(t)
	gw := startGateway(t, ctx, client, w.world.Signer(t, "gw"), w.store, w.topic, audit.TrailOptions{KeepEvents: true})
	log, trail, pub := gw.log, gw.trail, gw.pub
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n / 8 {
				if _, err := log.Append(ctx, mk(g, i)); err != nil {
					t.Error(err)
					return
				}
				if g == 0 && i%(n/32) == 0 { // a checkpoint now and then, amid the writes
					waitSize(t, trail, 1)
					if _, err := pub.Publish(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	waitSize(t, trail, int64(n))
	if _, err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	if err := client.Replay(rctx, w.topic, bus.ReplayOptions{}, func(m bus.Message) error {
		w.records = append(w.records, audit.FromMessage(m))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

func waitSize(t *testing.T, tr *audit.Trail, n int64) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); tr.Size() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("trail has %d events, want %d", tr.Size(), n)
		}
	}
}

// rewritten is the log as someone with write access to the topic made it:
// offsets follow the new order.
func rewritten(rs []audit.Record) []audit.Record {
	out := make([]audit.Record, len(rs))
	for i, r := range rs {
		r.Offset = int64(i)
		out[i] = r
	}
	return out
}

func indexOf(rs []audit.Record, pred func(audit.Record) bool) int {
	for i, r := range rs {
		if pred(r) {
			return i
		}
	}
	return -1
}

func isEvent(r audit.Record) bool { return string(r.Key) != audit.CheckpointKey }

func TestLogNumbersEventsAndVerifies(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		w := writeLog(t, tg, 320)
		rep, err := audit.VerifyRecords(w.records, w.store, audit.TrailOptions{Topic: w.topic})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Events != 320 || rep.Checkpoints < 2 || rep.Unsigned != 0 || rep.Latest.Signer != "gw" {
			t.Fatalf("report %+v", rep)
		}
		// Concurrent requests shared group commits: fewer signatures than events.
		roots := map[string]bool{}
		for _, r := range w.records {
			if isEvent(r) {
				roots[string(r.Batch[:bytes.IndexByte(r.Batch, ',')])] = true
			}
		}
		if len(roots) >= 320 {
			t.Errorf("%d group commits for 320 events: no request shared a write", len(roots))
		}
	})
}

func TestVerifyNamesWhatWasTamperedWith(t *testing.T) {
	w := writeLog(t, bustest.Embedded(t), 160)
	recs := w.records
	first := indexOf(recs, isEvent)
	firstCP := indexOf(recs, func(r audit.Record) bool { return !isEvent(r) })
	mid := indexOf(recs[len(recs)/2:], isEvent) + len(recs)/2
	ctx := context.Background()

	forged := func(signer seal.Signer, id string) audit.Record {
		v := fmt.Appendf(nil, `{"id":%q,"writer":"0000","seq":0,"kind":"view","requester":"cnaf","decision":"allow"}`, id)
		r := audit.Record{Key: []byte(id), Value: v}
		if signer != nil {
			h, _ := seal.NewSealer(signer).SignBatch(ctx, [][]byte{v})
			r.Batch = h[0]
		}
		return r
	}
	wrongKey := func() audit.Record {
		skey, _, _ := note.GenerateKey(rand.Reader, "gw")
		s, _ := note.NewSigner(skey)
		honest, _ := audit.OpenCheckpoint(recs[firstCP].Value, verifiersOf(w))
		signed, _ := honest.Sign(s)
		return audit.Record{Key: []byte(audit.CheckpointKey), Value: signed}
	}
	altered := func() []audit.Record {
		rs := append([]audit.Record(nil), recs...)
		rs[first].Value = bytes.Replace(rs[first].Value, []byte(`"decision":"allow"`), []byte(`"decision":"deny"`), 1)
		return rs
	}
	without := func(i int) []audit.Record { return append(append([]audit.Record(nil), recs[:i]...), recs[i+1:]...) }
	droppedID := string(recs[mid].Key)
	// A copy of the first event written into the log again, amid events a
	// later checkpoint signs without it.
	copied := append(append(append([]audit.Record(nil), recs[:mid+1]...), recs[first]), recs[mid+1:]...)

	for _, tc := range []struct {
		name  string
		recs  []audit.Record
		want  error
		at    int64  // offset named
		event string // event named, if any
		in    string // the detail names this
	}{
		{"unsigned event appended", append(append([]audit.Record(nil), recs...), forged(nil, "forged-1")), audit.ErrForged, int64(len(recs)), "forged-1", "not signed"},
		{"event signed by a publisher appended", append(append([]audit.Record(nil), recs...), forged(w.world.Signer(t, "dgfip"), "forged-2")), audit.ErrForged, int64(len(recs)), "forged-2", "not a gateway"},
		{"event altered", altered(), audit.ErrForged, int64(first), string(recs[first].Key), ""},
		{"event dropped", without(mid), audit.ErrDropped, -1, "", "missing"},
		{"checkpoint signed by another key", append(append([]audit.Record(nil), recs...), wrongKey()), audit.ErrCheckpoint, int64(len(recs)), "", "no gateway key"},
		{"event written again", copied, audit.ErrRootMismatch, int64(mid + 1), string(recs[first].Key), "second copy"},
	} {
		// A verifier defers signature checks to the events no checkpoint
		// vouches for; a gateway's trail checks each one as it reads it.
		// Both name the same record.
		for mode, verify := range map[string]func([]audit.Record) error{
			"deferred": func(rs []audit.Record) error {
				_, err := audit.VerifyRecords(rs, w.store, audit.TrailOptions{Topic: w.topic})
				return err
			},
			// Most of the tree in the verifier's file, and most signatures
			// checked before any checkpoint could vouch for them.
			"deferred, tree on disk": func(rs []audit.Record) error {
				_, err := audit.VerifyRecords(rs, w.store, audit.TrailOptions{Topic: w.topic, VerifyHashes: 4})
				return err
			},
			"eager": func(rs []audit.Record) error {
				tr := audit.NewTrail(w.store, audit.TrailOptions{Topic: w.topic})
				for _, r := range rs {
					if err := tr.Add(r); err != nil {
						return err
					}
				}
				return nil
			},
		} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				err := verify(rewritten(tc.recs))
				var f *audit.Finding
				if !errors.As(err, &f) || !errors.Is(err, tc.want) || !errors.Is(err, audit.ErrTampered) {
					t.Fatalf("got %v, want a finding of %v", err, tc.want)
				}
				if tc.at >= 0 && f.Offset != tc.at || tc.event != "" && f.Event != tc.event || !strings.Contains(f.Detail, tc.in) {
					t.Fatalf("finding %q, want offset %d, event %q, detail with %q", err, tc.at, tc.event, tc.in)
				}
			})
		}
	}
	t.Run("a tail cut off is seen against a checkpoint kept outside the log", func(t *testing.T) {
		last, _ := audit.OpenCheckpoint(recs[len(recs)-1].Value, verifiersOf(w))
		cut := recs[:mid]
		if _, err := audit.VerifyRecords(rewritten(cut), w.store, audit.TrailOptions{Topic: w.topic}); err != nil {
			t.Fatalf("the cut log alone: %v (it should verify: nothing in it tells)", err)
		}
		_, err := audit.VerifyRecords(rewritten(cut), w.store, audit.TrailOptions{Topic: w.topic, Anchors: []audit.Checkpoint{last}})
		if !errors.Is(err, audit.ErrDropped) || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("against the last checkpoint: %v", err)
		}
		if _, err := audit.VerifyRecords(rewritten(recs), w.store, audit.TrailOptions{Topic: w.topic, Anchors: []audit.Checkpoint{last}}); err != nil {
			t.Fatalf("the whole log against its last checkpoint: %v", err)
		}
	})
	t.Run("the dropped event's neighbours are named", func(t *testing.T) {
		_, err := audit.VerifyRecords(rewritten(without(mid)), w.store, audit.TrailOptions{Topic: w.topic})
		var f *audit.Finding
		errors.As(err, &f)
		if f.Checkpoint {
			// A checkpoint came first: it signs more events than precede it.
			return
		}
		if f.Event == droppedID || !strings.Contains(f.Detail, "seq") {
			t.Fatalf("finding %v", err)
		}
	})
	for _, o := range []audit.TrailOptions{{Topic: w.topic}, {Topic: w.topic, VerifyHashes: 1}} {
		t.Run(fmt.Sprintf("a retried write is a duplicate, not a forgery/hashes in memory %d", o.VerifyHashes), func(t *testing.T) {
			// The first event: with one hash in memory, its leaf is read
			// back from the verifier's file.
			again := recs[first]
			rep, err := audit.VerifyRecords(rewritten(append(append([]audit.Record(nil), recs...), again)), w.store, o)
			if err != nil || rep.Duplicates != 1 || rep.Unsigned != 1 {
				t.Fatalf("%+v, %v", rep, err)
			}
			// The same writer and seq with other content, even signed by the
			// gateway's key, is not a retry.
			other := bytes.Replace(again.Value, []byte(`"requester":"cnaf"`), []byte(`"requester":"dgfip"`), 1)
			h, _ := seal.NewSealer(w.world.Signer(t, "gw")).SignBatch(ctx, [][]byte{other})
			_, err = audit.VerifyRecords(rewritten(append(append([]audit.Record(nil), recs...), audit.Record{Key: again.Key, Value: other, Batch: h[0]})), w.store, o)
			if !errors.Is(err, audit.ErrForged) || !strings.Contains(err.Error(), "reused") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// A verifier holding almost nothing in memory reports what one holding
// everything does.
func TestVerifyWithTheTreeOnDisk(t *testing.T) {
	w := writeLog(t, bustest.Embedded(t), 600)
	want, err := audit.VerifyRecords(w.records, w.store, audit.TrailOptions{Topic: w.topic})
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []int{1, 3, 64} {
		got, err := audit.VerifyRecords(w.records, w.store, audit.TrailOptions{Topic: w.topic, VerifyHashes: keep})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%d hashes in memory: %+v, %v; want %+v", keep, got, err, want)
		}
	}
}

func verifiersOf(w *written) note.Verifiers {
	reg := w.store.Current()
	m, _ := reg.Member("gw")
	return note.VerifierList(audit.NoteVerifiers(reg, m)...)
}

// A trail recognises the events its own process's Log wrote by their leaf
// hash; a record claiming that writer with other bytes is checked as any.
func TestTrailRecognisesItsOwnEventsByHash(t *testing.T) {
	world := trusttest.New(t, members)
	tr := audit.NewTrail(world.Store(t), audit.TrailOptions{Topic: "t"})
	own := []byte(`{"id":"e1","writer":"w1","seq":0,"kind":"view","decision":"allow"}`)
	tr.Expect("w1", 0, []tlog.Hash{tlog.RecordHash(own)})
	// Unsigned here to show the signature is not what let it in.
	if err := tr.Add(audit.Record{Offset: 0, Key: []byte("e1"), Value: own}); err != nil {
		t.Fatalf("own event: %v", err)
	}
	other := []byte(`{"id":"e2","writer":"w1","seq":1,"kind":"view","decision":"allow"}`)
	tr.Expect("w1", 1, []tlog.Hash{tlog.RecordHash(own)})
	if err := tr.Add(audit.Record{Offset: 1, Key: []byte("e2"), Value: other}); !errors.Is(err, audit.ErrForged) {
		t.Fatalf("another event under the writer's name: %v", err)
	}
}

// Two gateways (two members, each its own key and writer) write one audit
// topic at once and each signs checkpoints of it as it reads it: both trails
// see the same tree, each accepts the other's checkpoints, and the log
// verifies.
func TestTwoGatewaysShareOneLog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	world := trusttest.New(t, members)
	store := world.Store(t)
	topic := bustest.Topic(t, client, 1)
	var gws []gateway
	for _, id := range []string{"gw", "gw2"} {
		gws = append(gws, startGateway(t, ctx, client, world.Signer(t, id), store, topic, audit.TrailOptions{KeepEvents: true}))
	}
	var wg sync.WaitGroup
	for g, gw := range gws {
		for c := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					if _, err := gw.log.Append(ctx, audit.Event{ID: fmt.Sprintf("g%d-c%d-%d", g, c, i), Kind: audit.KindView, Decision: "allow"}); err != nil {
						t.Error(err)
						return
					}
					if i%10 == 0 {
						if _, err := gw.pub.Publish(ctx); err != nil && !errors.Is(err, audit.ErrEmpty) {
							t.Error(err)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, gw := range gws {
		waitSize(t, gw.trail, 400)
		if _, err := gw.pub.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r0, _ := gws[0].trail.Tree().Root(400)
	r1, _ := gws[1].trail.Tree().Root(400)
	if r0 != r1 {
		t.Fatal("the two gateways' trails disagree on the tree")
	}
	for _, gw := range gws {
		if err := gw.trail.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	signers := map[string]bool{}
	for _, p := range gws[0].trail.Checkpoints() {
		signers[p.Signer] = true
	}
	if !signers["gw"] || !signers["gw2"] {
		t.Fatalf("checkpoints signed by %v, want both gateways", signers)
	}
	rep, err := audit.Verify(ctx, client, store, audit.TrailOptions{Topic: topic})
	if err != nil || rep.Events != 400 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
