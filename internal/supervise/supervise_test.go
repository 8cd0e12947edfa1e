package supervise_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/passerelle-bus/passerelle/internal/supervise"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBroken = errors.New("broken")

// untilStopped runs until its ctx ends.
func untilStopped(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// failing fails once release is closed.
func failing(release <-chan struct{}, err error) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-release:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func closed() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// waitState waits until the part is in the state wanted.
func waitState(t *testing.T, g *supervise.Group, name string, want supervise.State) supervise.Health {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, h := range g.Health() {
			if h.Name == name && h.State == want {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("part %s never %s: %v", name, want, g.Health())
		}
		time.Sleep(time.Millisecond)
	}
}

func stop(t *testing.T, g *supervise.Group) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return g.Stop(ctx)
}

// Each part's health, whatever happens to the others: one failing, before
// or after it became ready, or returning on its own, takes no other part
// with it, and stays failed.
func TestHealthOfEachPart(t *testing.T) {
	for _, tc := range []struct {
		name string
		// part is the part under test; trigger makes it do what it does.
		part    func(trigger <-chan struct{}) supervise.Part
		want    supervise.State
		wantErr error
		problem string // what readiness says of it
	}{
		{"ready once started without a signal", func(<-chan struct{}) supervise.Part {
			return supervise.Part{Run: untilStopped}
		}, supervise.Ready, nil, ""},
		{"starting until its signal", func(<-chan struct{}) supervise.Part {
			return supervise.Part{Run: untilStopped, Ready: make(chan struct{})}
		}, supervise.Starting, nil, "starting"},
		{"ready once its signal is closed", func(trigger <-chan struct{}) supervise.Part {
			return supervise.Part{Run: untilStopped, Ready: trigger}
		}, supervise.Ready, nil, ""},
		{"failed before it was ready", func(trigger <-chan struct{}) supervise.Part {
			return supervise.Part{Run: failing(trigger, errBroken), Ready: make(chan struct{})}
		}, supervise.Failed, errBroken, "failed: broken"},
		{"failed after it was ready", func(trigger <-chan struct{}) supervise.Part {
			return supervise.Part{Run: failing(trigger, errBroken), Ready: closed()}
		}, supervise.Failed, errBroken, "failed: broken"},
		{"returned nil on its own", func(trigger <-chan struct{}) supervise.Part {
			return supervise.Part{Run: failing(trigger, nil)}
		}, supervise.Failed, supervise.ErrExited, "failed: stopped on its own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := supervise.New(nil)
			var closedOthers []string
			var mu sync.Mutex
			other := func(name string) supervise.Part {
				return supervise.Part{Name: name, Run: untilStopped, Close: func() error {
					mu.Lock()
					defer mu.Unlock()
					closedOthers = append(closedOthers, name)
					return nil
				}}
			}
			if err := g.Start(context.Background(), other("before")); err != nil {
				t.Fatal(err)
			}
			trigger := make(chan struct{})
			p := tc.part(trigger)
			p.Name = "under-test"
			if err := g.Start(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if err := g.Start(context.Background(), other("after")); err != nil {
				t.Fatal(err)
			}
			close(trigger)
			h := waitState(t, g, "under-test", tc.want)
			if !errors.Is(h.Err, tc.wantErr) || (tc.wantErr == nil) != (h.Err == nil) {
				t.Fatalf("err %v, want %v", h.Err, tc.wantErr)
			}
			if got := h.Problem(); (got == nil) != (tc.problem == "") || got != nil && got.Error() != tc.problem {
				t.Fatalf("problem %v, want %q", got, tc.problem)
			}
			// The failure stays, and the others run on.
			time.Sleep(10 * time.Millisecond)
			for _, h := range g.Health() {
				switch h.Name {
				case "under-test":
					if h.State != tc.want {
						t.Fatalf("under test went from %s to %s", tc.want, h.State)
					}
				default:
					if h.State != supervise.Ready {
						t.Fatalf("%s: %s, want ready beside a part %s", h.Name, h.State, tc.want)
					}
				}
			}
			if err := stop(t, g); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if !slices.Equal(closedOthers, []string{"after", "before"}) {
				t.Fatalf("closed %v, want after then before", closedOthers)
			}
			for _, h := range g.Health() {
				if want := map[bool]supervise.State{true: supervise.Failed, false: supervise.Stopped}[tc.want == supervise.Failed && h.Name == "under-test"]; h.State != want {
					t.Fatalf("after stop %s is %s, want %s", h.Name, h.State, want)
				}
			}
		})
	}
}

// Stop and its failure paths: what it returns, what it closes.
func TestStop(t *testing.T) {
	errClose := errors.New("close failed")
	errFlush := errors.New("queued events not written")
	for _, tc := range []struct {
		name string
		// run of the middle part, of three; ctx is the part's
		run      func(ctx context.Context, release <-chan struct{}) error
		closeErr error
		// failFirst waits for b to fail before stopping
		failFirst bool
		want      []error  // errors.Is the Stop error
		wantMsg   string   // in the Stop error
		closed    []string // Close calls, in order
	}{
		{name: "every part stops: closed in reverse order of start",
			run:    func(ctx context.Context, _ <-chan struct{}) error { return untilStopped(ctx) },
			closed: []string{"c", "b", "a"}},
		{name: "returning nil on stop is stopping cleanly",
			run:    func(ctx context.Context, _ <-chan struct{}) error { <-ctx.Done(); return nil },
			closed: []string{"c", "b", "a"}},
		{name: "a wrapped cancellation is stopping cleanly",
			run: func(ctx context.Context, _ <-chan struct{}) error {
				<-ctx.Done()
				return errors.Join(errors.New("replay x/0"), ctx.Err())
			},
			closed: []string{"c", "b", "a"}},
		{name: "a part that fails to stop cleanly is named",
			run:     func(ctx context.Context, _ <-chan struct{}) error { <-ctx.Done(); return errFlush },
			want:    []error{errFlush},
			wantMsg: "b: queued events not written",
			closed:  []string{"c", "b", "a"}},
		{name: "a Close that fails is named, the others still closed",
			run:      func(ctx context.Context, _ <-chan struct{}) error { return untilStopped(ctx) },
			closeErr: errClose,
			want:     []error{errClose},
			wantMsg:  "close b: close failed",
			closed:   []string{"c", "b", "a"}},
		{name: "a part past the deadline is named and not closed",
			run: func(ctx context.Context, release <-chan struct{}) error {
				<-release // deaf to ctx
				return nil
			},
			want:    []error{supervise.ErrNotStopped},
			wantMsg: "did not stop in time: b",
			closed:  []string{"c", "a"}},
		{name: "a part that failed before stop is not reported again",
			run: func(ctx context.Context, _ <-chan struct{}) error {
				return errBroken
			},
			failFirst: true,
			closed:    []string{"c", "b", "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := supervise.New(nil)
			var mu sync.Mutex
			var closedParts []string
			release := make(chan struct{})
			defer close(release)
			for _, name := range []string{"a", "b", "c"} {
				p := supervise.Part{Name: name, Run: untilStopped, Close: func() error {
					mu.Lock()
					defer mu.Unlock()
					closedParts = append(closedParts, name)
					if name == "b" {
						return tc.closeErr
					}
					return nil
				}}
				if name == "b" {
					p.Run = func(ctx context.Context) error { return tc.run(ctx, release) }
				}
				if err := g.Start(context.Background(), p); err != nil {
					t.Fatal(err)
				}
			}
			if tc.failFirst {
				waitState(t, g, "b", supervise.Failed)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := g.Stop(ctx)
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("Stop took %s", took)
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Fatalf("Stop: %v, want %v", err, want)
				}
			}
			if len(tc.want) == 0 && err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Stop: %q, want it to say %q", err, tc.wantMsg)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(closedParts, tc.closed) {
				t.Fatalf("closed %v, want %v", closedParts, tc.closed)
			}
			// A second Stop returns what the first did.
			if again := g.Stop(context.Background()); !errors.Is(again, err) && (again != nil || err != nil) {
				t.Fatalf("second Stop: %v, first %v", again, err)
			}
		})
	}
}

// A part's ctx carries the values of the ctx it was started with, but not
// its cancellation: parts stop at Stop, after what uses them.
func TestPartsOutliveTheStartContext(t *testing.T) {
	type key struct{}
	g := supervise.New(nil)
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	got := make(chan any, 1)
	err := g.Start(ctx, supervise.Part{Name: "p", Run: func(ctx context.Context) error {
		got <- ctx.Value(key{})
		return untilStopped(ctx)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "v" {
		t.Fatalf("value %v", v)
	}
	cancel()
	time.Sleep(20 * time.Millisecond)
	if h := g.Health()[0]; h.State != supervise.Ready {
		t.Fatalf("after the start ctx ended: %s %v", h.State, h.Err)
	}
	if err := stop(t, g); err != nil {
		t.Fatal(err)
	}
}

func TestStartRefusals(t *testing.T) {
	g := supervise.New(nil)
	if err := g.Start(context.Background(), supervise.Part{Name: "p", Run: untilStopped}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		part supervise.Part
		want string
	}{
		{"no name", supervise.Part{Run: untilStopped}, "needs a name"},
		{"no run", supervise.Part{Name: "q"}, "needs a name and a Run"},
		{"a name taken", supervise.Part{Name: "p", Run: untilStopped}, "already running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := g.Start(context.Background(), tc.part); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start: %v, want %q", err, tc.want)
			}
		})
	}
	if err := stop(t, g); err != nil {
		t.Fatal(err)
	}
	closedLate := false
	err := g.Start(context.Background(), supervise.Part{Name: "late", Run: untilStopped, Close: func() error { closedLate = true; return nil }})
	if !errors.Is(err, supervise.ErrStopped) || closedLate {
		t.Fatalf("Start after Stop: %v (closed: %v), want ErrStopped and the part left to its caller", err, closedLate)
	}
	if len(g.Health()) != 1 {
		t.Fatalf("health lists %v", g.Health())
	}
}

// Stops racing each other all return once the parts are closed.
func TestConcurrentStops(t *testing.T) {
	g := supervise.New(nil)
	closes := 0
	var mu sync.Mutex
	for _, name := range []string{"a", "b"} {
		g.Start(context.Background(), supervise.Part{Name: name, Run: untilStopped, Close: func() error {
			mu.Lock()
			defer mu.Unlock()
			closes++
			return nil
		}})
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := stop(t, g); err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if closes != 2 {
				t.Errorf("Stop returned with %d parts closed", closes)
			}
		})
	}
	wg.Wait()
}
