package audit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
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
