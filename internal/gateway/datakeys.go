package gateway

import (
	"context"
	"fmt"
	"sync"

	"github.com/passerelle-bus/passerelle/internal/datakeys"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/view"
)

// keyLedgers are the gateway's ledgers of every domain's data keys,
// followed as one part.
type keyLedgers struct {
	ledgers map[string]*datakeys.Ledger
	p       *Parts
	ready   chan struct{}
}

// dataKeys makes a ledger per domain and has the view open sealed records
// with them; forget is told of each citizen erased. Without a KEK the view holds sealed records unopened: ready
// at once, nothing to follow.
func dataKeys(p Parts, ix *view.Index, forget func(domain, subject string)) (*keyLedgers, error) {
	k := &keyLedgers{ledgers: map[string]*datakeys.Ledger{}, p: &p, ready: make(chan struct{})}
	if p.KEK == nil {
		close(k.ready)
		return k, nil
	}
	metrics := datakeys.NewMetrics(p.Metrics)
	isGateway := func(member string) bool {
		m, err := p.Trust.Current().Member(member)
		return err == nil && m.Has(trust.RoleGateway)
	}
	for _, d := range domains.Names() {
		k.ledgers[d] = datakeys.New(d, p.KEK, p.Trust, datakeys.Options{IsGateway: isGateway, Log: p.Log, Metrics: metrics,
			OnErase: func(subject string) { forget(d, subject) }})
	}
	opener, err := datakeys.NewOpener(p.Schemas, k.ledgers)
	if err != nil {
		return nil, fmt.Errorf("gateway: data keys: %w", err)
	}
	ix.Open(opener)
	return k, nil
}

// run follows every domain's key topic until ctx ends; one failing stops
// the others, as a view missing a domain's keys is failed as a whole.
func (k *keyLedgers) run(ctx context.Context) error {
	if len(k.ledgers) == 0 {
		<-ctx.Done()
		return nil
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, len(k.ledgers))
	for d, l := range k.ledgers {
		wg.Go(func() {
			if err := l.Follow(ctx, k.p.Bus); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("data keys of %s: %w", d, err)
				stop()
			}
		})
	}
	wg.Go(func() {
		for _, l := range k.ledgers {
			select {
			case <-l.CaughtUp():
			case <-ctx.Done():
				return
			}
		}
		close(k.ready)
	})
	wg.Wait()
	close(errs)
	return <-errs
}
