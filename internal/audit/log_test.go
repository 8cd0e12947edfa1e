package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// Appends racing a Close all return: written, or ErrClosed; none waits on
// a log that is gone.
func TestLogCloseAnswersEveryAppend(t *testing.T) {
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	world := trusttest.New(t, members)
	w := audit.NewWriter(client, nil)
	defer w.Close()
	log, err := audit.NewLog(w, seal.NewSealer(world.Signer(t, "gw")), audit.LogOptions{Topic: bustest.Topic(t, client, 1)})
	if err != nil {
		t.Fatal(err)
	}
	go log.Run(context.Background()) // Close stops it
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := log.Append(context.Background(), audit.Event{ID: "e", Kind: audit.KindView, Decision: "allow"})
			errs <- err
		}()
	}
	time.Sleep(time.Millisecond)
	log.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("appends still waiting 30 s after Close")
	}
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, audit.ErrClosed) {
			t.Fatalf("append: %v", err)
		}
	}
	if _, err := log.Append(context.Background(), audit.Event{ID: "late"}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

// Event ids sort as their milliseconds do, whatever their random part,
// and are told apart within one.
func TestNewIDGrowsWithTime(t *testing.T) {
	at := time.UnixMilli(1_780_000_000_000)
	seen := map[string]bool{}
	var prev, last string // the greatest id of the millisecond before, and so far
	for i := range 3000 {
		id := audit.NewID(at.Add(time.Duration(i/3) * time.Millisecond))
		if len(id) != 24 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("id %q: want 24 hex digits", id)
		}
		if i%3 == 0 {
			prev = last
		}
		if id <= prev {
			t.Fatalf("id %q of a later millisecond sorts before %q", id, prev)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id], last = true, max(last, id)
	}
}

// A log stopped while a commit is in flight commits what queued behind it,
// and the voids waiting, before Run returns: a stopping gateway's answers
// are all in the log. The broker is held still so that appends queue
// behind the first group.
func TestLogStopCommitsWhatIsQueued(t *testing.T) {
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	world := trusttest.New(t, members)
	w := audit.NewWriter(client, nil)
	defer w.Close()
	topic := bustest.Topic(t, client, 1)
	log, err := audit.NewLog(w, seal.NewSealer(world.Signer(t, "gw")), audit.LogOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- log.Run(ctx) }()

	hold := make(chan struct{})
	tg.Embedded.Fake().Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		<-hold
		return nil, nil, false
	})
	const n = 50
	errs := make(chan error, n)
	appendOne := func(i int) {
		_, err := log.Append(context.Background(), audit.Event{ID: fmt.Sprintf("e%02d", i), Kind: audit.KindView, Decision: "allow"})
		errs <- err
	}
	go appendOne(0) // the group in flight
	time.Sleep(50 * time.Millisecond)
	for i := 1; i < n; i++ {
		go appendOne(i) // queued behind it
	}
	log.Void(audit.Event{ID: "answered-503", Requester: "cnaf"}, audit.VoidUnavailable)
	time.Sleep(50 * time.Millisecond)
	stop()
	close(hold)
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return 30 s after its ctx ended")
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("an append queued as the log stopped: %v", err)
		}
	}
	if _, err := log.Append(context.Background(), audit.Event{ID: "late"}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("append after Run returned: %v", err)
	}

	got := map[string]bool{}
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = client.Replay(rctx, topic, bus.ReplayOptions{}, func(m bus.Message) error {
		var ev audit.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			return err
		}
		got[ev.ID] = true
		if ev.Kind == audit.KindVoid {
			got["void of "+ev.Ref] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if id := fmt.Sprintf("e%02d", i); !got[id] {
			t.Errorf("event %s answered as written is not on the topic", id)
		}
	}
	if !got["void of answered-503"] {
		t.Error("the void waiting at stop is not on the topic")
	}
}

// A log runs once; one closed before it ran refuses appends.
func TestLogRunsOnce(t *testing.T) {
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	world := trusttest.New(t, members)
	w := audit.NewWriter(client, nil)
	defer w.Close()
	newLog := func() *audit.Log {
		l, err := audit.NewLog(w, seal.NewSealer(world.Signer(t, "gw")), audit.LogOptions{Topic: bustest.Topic(t, client, 1)})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	t.Run("closed before it ran", func(t *testing.T) {
		l := newLog()
		l.Close()
		if err := l.Run(context.Background()); !errors.Is(err, audit.ErrClosed) {
			t.Fatalf("Run after Close: %v", err)
		}
		if _, err := l.Append(context.Background(), audit.Event{ID: "e"}); !errors.Is(err, audit.ErrClosed) {
			t.Fatalf("Append: %v", err)
		}
	})
	t.Run("run twice", func(t *testing.T) {
		l := newLog()
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- l.Run(ctx) }()
		if _, err := l.Append(context.Background(), audit.Event{ID: "e"}); err != nil {
			t.Fatal(err)
		}
		if err := l.Run(ctx); err == nil {
			t.Fatal("a second Run ran")
		}
		cancel()
		if err := <-ran; err != nil {
			t.Fatal(err)
		}
		l.Close()
	})
}
