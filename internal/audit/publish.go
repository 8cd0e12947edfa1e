package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ErrEmpty: the log has no event yet, so there is nothing to sign.
var ErrEmpty = errors.New("audit log is empty")

// DefaultCheckpointInterval is how often a gateway signs the events it has
// read: the longest an alteration can stay outside every checkpoint.
const DefaultCheckpointInterval = 10 * time.Second

// Publisher signs checkpoints of a trail, as the trail has read the topic,
// and writes them to the same topic, where every reader of the log finds
// them in order.
type Publisher struct {
	trail  *Trail
	signer note.Signer
	w      *Log
	log    *slog.Logger

	mu   sync.Mutex
	last Published
}

// NewPublisher signs with signer (GatewayNoteSigner) and writes through
// the gateway's log, in line with its events.
func NewPublisher(trail *Trail, signer note.Signer, w *Log, log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{trail: trail, signer: signer, w: w, log: log}
}

// Publish returns a signed checkpoint of every event the trail has read:
// the latest one found on the topic if it covers them all, else a new one,
// returned once it is on the topic.
func (p *Publisher) Publish(ctx context.Context) (Published, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size := p.trail.Size()
	if size == 0 {
		return Published{}, ErrEmpty
	}
	if latest, ok := p.trail.Latest(); ok && latest.Size == size {
		return latest, nil
	}
	if p.last.Size == size {
		return p.last, nil
	}
	root, err := p.trail.Tree().Root(size)
	if err != nil {
		return Published{}, err
	}
	c := Checkpoint{Origin: p.trail.o.Origin, Size: size, Root: root}
	signed, err := c.Sign(p.signer)
	if err != nil {
		return Published{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	if err := p.w.WriteCheckpoint(ctx, signed); err != nil {
		return Published{}, fmt.Errorf("publish checkpoint: %w", err)
	}
	p.last = Published{Checkpoint: c, Signer: p.signer.Name(), Note: signed, Offset: -1}
	p.log.Debug("checkpoint published", "component", "audit", "size", size)
	return p.last, nil
}

// Run publishes every interval while the log grows, until ctx ends.
func (p *Publisher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := p.Publish(ctx); err != nil && !errors.Is(err, ErrEmpty) && ctx.Err() == nil {
			p.log.Warn("checkpoint not published", "component", "audit", "err", err)
		}
	}
}
