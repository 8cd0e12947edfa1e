// Package supervise runs the long-running parts of a process (followers,
// writers, watchers, connectors) as one group: it starts them, keeps each
// one's health for a readiness probe, and stops them together.
//
// The shape is oklog/run's (an execute function and its interrupt, here
// the part's context) with Caddy's lifecycle around it (start in order,
// close in reverse). It differs from both on failure: a part that fails
// is kept as failed and the others go on. A gateway whose checkpoint
// signer failed still serves what it can and answers /readyz with the
// failed part's name, rather than vanish as a group that cancels every
// part on the first error (oklog/run, errgroup) would make it.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Part is one long-running piece of a process.
type Part struct {
	// Name identifies the part in health reports and logs; unique within
	// a group.
	Name string
	// Run does the part's work until ctx ends, then returns. An error
	// before then is the part's failure; after it, a failure to stop
	// cleanly, which Stop reports.
	Run func(ctx context.Context) error
	// Ready, if set, is closed once the part is ready (a follower caught
	// up with its topic); without it the part is ready once started.
	Ready <-chan struct{}
	// Close, if set, releases what the part used, once its Run has
	// returned; Stop calls it, in reverse order of start.
	Close func() error
}

// State is where a part is in its life.
type State int

// States of a part.
const (
	Starting State = iota // running, not ready yet
	Ready                 // running and ready
	Failed                // Run returned before the group was stopped
	Stopped               // Run returned after Stop
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Ready:
		return "ready"
	case Failed:
		return "failed"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Health is a part's state, and for a failed part why.
type Health struct {
	Name  string
	State State
	Err   error // the failure of a Failed part; nil otherwise
}

// Problem is nil for a ready part, otherwise what a readiness probe says
// of it: the failure, or that it is still starting or stopped.
func (h Health) Problem() error {
	switch h.State {
	case Ready:
		return nil
	case Failed:
		return fmt.Errorf("failed: %w", h.Err)
	}
	return errors.New(h.State.String())
}

// Group runs parts from Start until Stop. Its zero value is not usable:
// call New.
type Group struct {
	log *slog.Logger

	mu       sync.Mutex
	parts    []*running // in start order
	stopping bool
	stopped  chan struct{} // closed when the first Stop has finished
	stopErr  error
}

type running struct {
	Part
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned

	// set by the part's goroutine before done is closed
	err        error
	beforeStop bool
}

// New returns an empty group; log receives each part's failure.
func New(log *slog.Logger) *Group {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Group{log: log.With("component", "supervise"), stopped: make(chan struct{})}
}

// Start runs p.Run in a goroutine of its own. ctx lends the part its
// values, not its end: parts stop at Stop, so that a process can first
// stop what uses them (an HTTP server finishing its requests, whose audit
// events the audit log must still commit) and then stop them.
func (g *Group) Start(ctx context.Context, p Part) error {
	if p.Name == "" || p.Run == nil {
		return errors.New("supervise: a part needs a name and a Run")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping {
		return fmt.Errorf("%w: part %s", ErrStopped, p.Name)
	}
	for _, r := range g.parts {
		if r.Name == p.Name {
			return fmt.Errorf("supervise: a part named %s is already running", p.Name)
		}
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &running{Part: p, cancel: cancel, done: make(chan struct{})}
	g.parts = append(g.parts, r)
	go g.run(pctx, r)
	return nil
}

func (g *Group) run(ctx context.Context, r *running) {
	defer close(r.done)
	err := r.Run(ctx)
	g.mu.Lock()
	r.beforeStop = !g.stopping
	g.mu.Unlock()
	if r.beforeStop && err == nil {
		err = ErrExited
	}
	r.err = err
	if r.beforeStop {
		// Nobody else hears of it: Stop reports only how parts stopped.
		g.log.Error("part failed; the others go on", "part", r.Name, "err", err)
	}
}

func (r *running) returned() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Health reports every part started, in start order.
func (g *Group) Health() []Health {
	g.mu.Lock()
	parts := append([]*running(nil), g.parts...)
	g.mu.Unlock()
	out := make([]Health, len(parts))
	for i, r := range parts {
		out[i] = r.health()
	}
	return out
}

func (r *running) health() Health {
	h := Health{Name: r.Name}
	select {
	case <-r.done:
		if r.beforeStop {
			h.State, h.Err = Failed, r.err
		} else {
			h.State = Stopped
		}
		return h
	default:
	}
	h.State = Ready
	if r.Ready != nil {
		select {
		case <-r.Ready:
		default:
			h.State = Starting
		}
	}
	return h
}

// Stop cancels every part, waits for each until ctx ends, then calls the
// Close of each part that returned, in reverse order of start. Its error
// names the parts that did not stop in time (ErrNotStopped) and joins the
// errors of parts that failed to stop cleanly and of Close. A part that
// failed earlier is not reported again: Health and the log have said so.
// Later calls wait for the first and return its result.
func (g *Group) Stop(ctx context.Context) error {
	g.mu.Lock()
	if g.stopping {
		g.mu.Unlock()
		select {
		case <-g.stopped:
			return g.stopErr
		case <-ctx.Done():
			return fmt.Errorf("supervise: wait for a concurrent stop: %w", ctx.Err())
		}
	}
	g.stopping = true
	parts := append([]*running(nil), g.parts...)
	g.mu.Unlock()

	for _, r := range parts {
		r.cancel()
	}
	var late []string
	returned := make([]bool, len(parts))
	for i, r := range parts {
		select {
		case <-r.done:
			returned[i] = true
		case <-ctx.Done():
			if returned[i] = r.returned(); !returned[i] {
				late = append(late, r.Name)
			}
		}
	}
	var errs []error
	for i := len(parts) - 1; i >= 0; i-- {
		r := parts[i]
		if !returned[i] {
			continue
		}
		if !r.beforeStop && r.err != nil && !errors.Is(r.err, context.Canceled) {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, r.err))
		}
		if r.Close != nil {
			if err := r.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", r.Name, err))
			}
		}
	}
	if len(late) > 0 {
		errs = append([]error{fmt.Errorf("%w: %s", ErrNotStopped, strings.Join(late, ", "))}, errs...)
	}
	g.stopErr = errors.Join(errs...)
	close(g.stopped)
	return g.stopErr
}
