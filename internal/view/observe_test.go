package view_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/view"
)

// heard keeps what an observer heard, by subject.
type heard struct {
	mu  sync.Mutex
	got map[string]view.Observed
}

func (h *heard) Observe(domain string, o view.Observed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got[domain+"/"+o.Meta.Subject] = o
}

// An observer hears of every record the view holds, with its linkage
// header; over a disk index read again after a restart, it hears of each
// record the index already held, so an observer kept in memory is whole.
func TestObserverHearsWhatTheViewHolds(t *testing.T) {
	tl := newTaxLog(t, 50, 4)
	tl.publish(t)
	disk, err := view.OpenDisk(filepath.Join(t.TempDir(), "view.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	for _, round := range []string{"first build", "after a restart"} {
		h := &heard{got: map[string]view.Observed{}}
		ix := view.New(disk, tl.codec, tl.world.Store(t), prometheus.NewRegistry(), nil)
		ix.Observe(h)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ix.Run(ctx, tl.client) }()
		select {
		case <-ix.Ready():
		case <-time.After(30 * time.Second):
			t.Fatal("view never caught up")
		}
		cancel()
		<-done
		if len(h.got) != len(tl.pop.Tax) {
			t.Fatalf("%s: heard of %d records, the view holds %d", round, len(h.got), len(tl.pop.Tax))
		}
		for key, o := range h.got {
			if o.Value == nil || o.KeyID == "" {
				t.Fatalf("%s: %s heard without its value or key", round, key)
			}
			found := false
			for _, hd := range o.Headers {
				found = found || hd.Key == link.Header
			}
			if !found {
				t.Fatalf("%s: %s heard without its linkage header", round, key)
			}
		}
	}
}
