package budget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
)

// Spend is one use of a requester's privacy budget: EpsMicro micro-epsilon
// of a rule's budget for a period (a calendar year, "2026"), whose size is
// BudgetMicro. ID names the decision that spends; a retry of the same
// decision reuses it, so that it counts once.
type Spend struct {
	ID, Requester, Rule, Period string
	EpsMicro, BudgetMicro       uint64
}

// Account is a requester's budget for a rule and period: after a spend,
// when a Spend returns it.
type Account struct {
	Requester, Rule, Period string
	SpentMicro, BudgetMicro uint64
}

// RemainingMicro is what is left to spend; zero, not negative, when the
// budget was lowered below what had already been spent.
func (a Account) RemainingMicro() uint64 {
	if a.SpentMicro >= a.BudgetMicro {
		return 0
	}
	return a.BudgetMicro - a.SpentMicro
}

// Stats count what the ledger's follower has read.
type Stats struct {
	Accepted, Refused uint64
	// Duplicates are records whose id was seen before: a produce retried,
	// or a spend replayed. They change nothing.
	Duplicates uint64
	// Malformed are records that could not be read as a spend; they count
	// for nothing and are logged with their offset.
	Malformed uint64
}

// Ledger appends spends to the budget topic and follows it to learn their
// verdicts. Run must be running for Spend to return.
type Ledger struct {
	client *bus.Client
	topic  string
	log    *slog.Logger
	w      *bus.Writer

	ready     chan struct{}
	readyOnce sync.Once

	mu      sync.Mutex
	started bool
	stopped bool
	// read is the offset of the next record the follower will read.
	read int64
	// advanced, if not nil, is closed when read moves or Run returns: it
	// exists only while a Spend waits, so a replay of a long topic closes
	// no channel per record.
	advanced chan struct{}
	spent    map[accountKey]uint64
	verdicts map[string]verdict // by spend id, of its first copy
	stats    Stats
}

type accountKey struct{ requester, rule, period string }

type verdict struct {
	spend    Spend
	accepted bool
	account  Account
}

// New returns a ledger of the budget topic (bus.TopicBudget in
// production). It writes with acks=all and does nothing until Run.
func New(client *bus.Client, topic string, log *slog.Logger) *Ledger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Ledger{
		client:   client,
		topic:    topic,
		log:      log.With("component", "budget", "topic", topic),
		w:        client.NewWriter(nil),
		ready:    make(chan struct{}),
		spent:    map[accountKey]uint64{},
		verdicts: map[string]verdict{},
	}
}

// Ready is closed once the follower has read the topic up to where it
// stood when Run started: Account is then up to date.
func (l *Ledger) Ready() <-chan struct{} { return l.ready }

// Run reads the topic from its beginning, then follows it, until ctx ends.
// It returns ctx's error then, or the error that stopped the follower. A
// ledger runs once; Spend fails with ErrStopped once Run has returned.
func (l *Ledger) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errors.New("budget: the ledger has run already")
	}
	l.started = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.stopped = true
		l.wake()
		l.mu.Unlock()
	}()

	// More than one partition and offsets no longer order the spends: two
	// readers could then apply them in different orders and disagree.
	n, err := l.client.Partitions(ctx, l.topic)
	if err != nil {
		return fmt.Errorf("budget ledger: %w", err)
	}
	if n != 1 {
		return fmt.Errorf("budget ledger: %s has %d partitions, a ledger needs exactly one", l.topic, n)
	}
	err = l.client.Replay(ctx, l.topic, bus.ReplayOptions{Follow: true, CaughtUp: func() { l.readyOnce.Do(func() { close(l.ready) }) }},
		func(m bus.Message) error { l.apply(m); return nil })
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("budget ledger: %w", err)
}

// apply takes one record of the topic into the state. It never fails: a
// record that cannot count is counted as such, and the follower goes on.
func (l *Ledger) apply(m bus.Message) {
	rec, reason, err := decodeRecord(m.Value)

	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.wake()
	l.read = m.Offset + 1
	if err != nil {
		l.stats.Malformed++
		l.log.Warn("budget spend skipped", "offset", m.Offset, "reason", reason, "err", err)
		return
	}
	if _, seen := l.verdicts[rec.ID]; seen {
		l.stats.Duplicates++
		return
	}
	k := accountKey{rec.Requester, rec.Rule, rec.Period}
	spent := l.spent[k]
	// spent + eps ≤ budget, written so that it cannot overflow.
	accepted := spent <= rec.BudgetMicro && rec.EpsMicro <= rec.BudgetMicro-spent
	if accepted {
		spent += rec.EpsMicro
		l.spent[k] = spent
		l.stats.Accepted++
	} else {
		l.stats.Refused++
	}
	l.verdicts[rec.ID] = verdict{spend: rec.spend(), accepted: accepted,
		account: Account{Requester: rec.Requester, Rule: rec.Rule, Period: rec.Period, SpentMicro: spent, BudgetMicro: rec.BudgetMicro}}
}

// wake tells the waiting Spends that something changed; l.mu is held.
func (l *Ledger) wake() {
	if l.advanced != nil {
		close(l.advanced)
		l.advanced = nil
	}
}

// Spend appends s to the topic and returns its verdict once the follower
// has read it: the account after it, and nil if it was accepted, or an
// error wrapping ErrExhausted if it was refused (the account then says
// what was spent before it). An accepted spend is durable (acks=all)
// before Spend returns. A spend whose id was seen already is not written
// again: Spend returns the verdict of the first.
//
// Any other error leaves the spend's fate unknown (it may have landed and
// be accepted): the caller refuses its request, and a retry with the same
// id learns the verdict rather than spend twice.
func (l *Ledger) Spend(ctx context.Context, s Spend) (Account, error) {
	if err := s.validate(); err != nil {
		return Account{}, fmt.Errorf("spend %s: %w", s.ID, err)
	}
	if v, ok := l.verdict(s.ID); ok {
		return v.result(s)
	}
	b, err := json.Marshal(record{V: recordVersion, ID: s.ID, Requester: s.Requester, Rule: s.Rule, Period: s.Period,
		EpsMicro: s.EpsMicro, BudgetMicro: s.BudgetMicro, At: time.Now().UTC()})
	if err != nil {
		return Account{}, fmt.Errorf("spend %s: %w", s.ID, err)
	}
	// Produce, not Write, because it says at which offset the record
	// landed, which is what the wait below needs.
	p, err := l.w.Produce(ctx, l.topic, 0, bus.Message{Key: []byte(s.Requester), Value: b})
	if err != nil {
		return Account{}, fmt.Errorf("spend %s: %w", s.ID, err)
	}
	if err := l.waitRead(ctx, p.BaseOffset); err != nil {
		return Account{}, fmt.Errorf("spend %s: written at offset %d, verdict unknown: %w", s.ID, p.BaseOffset, err)
	}
	v, ok := l.verdict(s.ID)
	if !ok {
		// The follower read past the record and did not take it: it read
		// another topic's record, or the code that reads is not the code
		// that wrote.
		return Account{}, fmt.Errorf("spend %s: the record at offset %d was not read back as a spend", s.ID, p.BaseOffset)
	}
	return v.result(s)
}

func (l *Ledger) verdict(id string) (verdict, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.verdicts[id]
	return v, ok
}

// result is what Spend returns for s, whose id has verdict v.
func (v verdict) result(s Spend) (Account, error) {
	if v.spend != s {
		return Account{}, fmt.Errorf("spend %s: %w: the id was used by another spend", s.ID, ErrInvalid)
	}
	if !v.accepted {
		return v.account, fmt.Errorf("spend %s of %d µε, %d of %d µε spent: %w", s.ID, s.EpsMicro, v.account.SpentMicro, v.account.BudgetMicro, ErrExhausted)
	}
	return v.account, nil
}

// waitRead returns once the follower has read the record at offset.
func (l *Ledger) waitRead(ctx context.Context, offset int64) error {
	for {
		l.mu.Lock()
		if l.read > offset {
			l.mu.Unlock()
			return nil
		}
		if l.stopped {
			l.mu.Unlock()
			return ErrStopped
		}
		if l.advanced == nil {
			l.advanced = make(chan struct{})
		}
		ch := l.advanced
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Account returns what the requester has spent of the rule's budget in the
// period, as far as the follower has read, against budgetMicro.
func (l *Ledger) Account(requester, rule, period string, budgetMicro uint64) Account {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Account{Requester: requester, Rule: rule, Period: period,
		SpentMicro: l.spent[accountKey{requester, rule, period}], BudgetMicro: budgetMicro}
}

// Stats returns the counts of what the follower has read.
func (l *Ledger) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Topic is the topic the ledger writes and follows.
func (l *Ledger) Topic() string { return l.topic }
