package budget_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/stats/budget"
)

// start runs a ledger of topic until the test ends and waits until it is
// ready.
func start(t testing.TB, client *bus.Client, topic string) *budget.Ledger {
	t.Helper()
	l := budget.New(client, topic, nil)
	bustest.Follow(t, context.Background(), func(ctx context.Context) { l.Run(ctx) })
	select {
	case <-l.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("ledger not ready after 30s")
	}
	return l
}

// eventually waits until cond holds: another ledger's follower reads the
// spends of this one in its own time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func spend(id string, eps, budgetMicro uint64) budget.Spend {
	return budget.Spend{ID: id, Requester: "drees", Rule: "tax.income.mean", Period: "2026", EpsMicro: eps, BudgetMicro: budgetMicro}
}

func TestSpendUntilExhausted(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		client := tg.Client(t)
		l := start(t, client, bustest.Topic(t, client, 1))

		const b = 1_000_000
		steps := []struct {
			id        string
			eps       uint64
			wantSpent uint64
			exhausted bool
		}{
			{"d1", 300_000, 300_000, false},
			{"d2", 300_000, 600_000, false},
			{"d3", 300_000, 900_000, false},
			{"d4", 300_000, 900_000, true},    // one too many
			{"d5", 100_000, 1_000_000, false}, // what is left fits exactly
			{"d6", 1, 1_000_000, true},
		}
		for _, s := range steps {
			acc, err := l.Spend(ctx, spend(s.id, s.eps, b))
			if got := errors.Is(err, budget.ErrExhausted); got != s.exhausted || (err != nil && !got) {
				t.Fatalf("spend %s: %v, want exhausted=%v", s.id, err, s.exhausted)
			}
			if acc.SpentMicro != s.wantSpent || acc.BudgetMicro != b || acc.RemainingMicro() != b-s.wantSpent {
				t.Fatalf("spend %s: account %+v, want %d spent of %d", s.id, acc, s.wantSpent, b)
			}
		}
		if acc := l.Account("drees", "tax.income.mean", "2026", b); acc.SpentMicro != b || acc.RemainingMicro() != 0 {
			t.Errorf("account %+v, want all spent", acc)
		}
		// Budgets are per requester, rule and period.
		for _, s := range []budget.Spend{
			{ID: "o1", Requester: "insee", Rule: "tax.income.mean", Period: "2026", EpsMicro: b, BudgetMicro: b},
			{ID: "o2", Requester: "drees", Rule: "health.visits.count", Period: "2026", EpsMicro: b, BudgetMicro: b},
			{ID: "o3", Requester: "drees", Rule: "tax.income.mean", Period: "2027", EpsMicro: b, BudgetMicro: b},
		} {
			if _, err := l.Spend(ctx, s); err != nil {
				t.Errorf("spend %+v: %v", s, err)
			}
		}
		if st := l.Stats(); st.Accepted != 7 || st.Refused != 2 {
			t.Errorf("stats %+v, want 7 accepted and 2 refused", st)
		}
	})
}

func TestSpendRefusesInvalid(t *testing.T) {
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	l := start(t, client, bustest.Topic(t, client, 1))
	ctx := context.Background()
	for _, s := range []budget.Spend{
		{Requester: "drees", Rule: "r", Period: "2026", EpsMicro: 1, BudgetMicro: 1},
		{ID: "x", Rule: "r", Period: "2026", EpsMicro: 1, BudgetMicro: 1},
		{ID: "x", Requester: "drees", Period: "2026", EpsMicro: 1, BudgetMicro: 1},
		{ID: "x", Requester: "drees", Rule: "r", EpsMicro: 1, BudgetMicro: 1},
		{ID: "x", Requester: "drees", Rule: "r", Period: "2026", BudgetMicro: 1},
		{ID: "x", Requester: "drees", Rule: "r", Period: "2026", EpsMicro: 1},
	} {
		if _, err := l.Spend(ctx, s); !errors.Is(err, budget.ErrInvalid) {
			t.Errorf("spend %+v: %v, want ErrInvalid", s, err)
		}
	}
	if hw, err := client.HighWatermark(ctx, l.Topic(), 0); err != nil || hw != 0 {
		t.Errorf("topic holds %d records (%v), want none written", hw, err)
	}
}

// Fifty requests at once across two gateway instances, with a budget for
// ten: the broker's order decides, and exactly ten pass.
func TestConcurrentSpendsAcrossInstances(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		setup := tg.Client(t)
		topic := bustest.Topic(t, setup, 1)
		ledgers := []*budget.Ledger{start(t, tg.Client(t), topic), start(t, tg.Client(t), topic)}

		const n, eps, b = 50, 100_000, 1_000_000
		var (
			wg                  sync.WaitGroup
			mu                  sync.Mutex
			accepted, exhausted int
			others              []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := ledgers[i%2].Spend(ctx, spend(fmt.Sprintf("c%02d", i), eps, b))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					accepted++
				case errors.Is(err, budget.ErrExhausted):
					exhausted++
				default:
					others = append(others, err)
				}
			}()
		}
		wg.Wait()
		if accepted != 10 || exhausted != 40 || len(others) > 0 {
			t.Fatalf("%d accepted, %d exhausted, errors %v; want 10 and 40", accepted, exhausted, others)
		}
		for i, l := range ledgers {
			eventually(t, fmt.Sprintf("ledger %d reads the 50 spends", i), func() bool {
				st := l.Stats()
				return st.Accepted+st.Refused == n
			})
			if st := l.Stats(); st.Accepted != 10 || st.Refused != 40 {
				t.Errorf("ledger %d: %+v, want 10 accepted, 40 refused", i, st)
			}
			if acc := l.Account("drees", "tax.income.mean", "2026", b); acc.SpentMicro != b {
				t.Errorf("ledger %d: account %+v, want %d spent", i, acc, b)
			}
		}
		// Each instance answers a retry of any spend, its own or the
		// other's, with the verdict the caller of the first got.
		for i := range n {
			a0, err0 := ledgers[0].Spend(ctx, spend(fmt.Sprintf("c%02d", i), eps, b))
			a1, err1 := ledgers[1].Spend(ctx, spend(fmt.Sprintf("c%02d", i), eps, b))
			if a0 != a1 || errors.Is(err0, budget.ErrExhausted) != errors.Is(err1, budget.ErrExhausted) {
				t.Errorf("c%02d: the ledgers disagree: %+v %v / %+v %v", i, a0, err0, a1, err1)
			}
		}

		// (c) A restart rebuilds the same account from the topic and
		// still refuses.
		restarted := start(t, tg.Client(t), topic)
		if acc := restarted.Account("drees", "tax.income.mean", "2026", b); acc.SpentMicro != b {
			t.Errorf("after a restart: account %+v, want %d spent", acc, b)
		}
		if st := restarted.Stats(); st.Accepted != 10 || st.Refused != 40 {
			t.Errorf("after a restart: %+v, want 10 accepted, 40 refused", st)
		}
		if _, err := restarted.Spend(ctx, spend("after-restart", 1, b)); !errors.Is(err, budget.ErrExhausted) {
			t.Errorf("after a restart: spend %v, want ErrExhausted", err)
		}
	})
}

// A record written twice (a produce retried after a timeout, or someone
// replaying an old spend) counts once.
func TestDuplicateChangesNothing(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		client := tg.Client(t)
		topic := bustest.Topic(t, client, 1)
		l := start(t, client, topic)

		const b = 1_000_000
		first, err := l.Spend(ctx, spend("dup", 600_000, b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Spend(ctx, spend("refused", 600_000, b)); !errors.Is(err, budget.ErrExhausted) {
			t.Fatalf("second spend: %v, want ErrExhausted", err)
		}
		// Both again, written behind the ledger's back as a retried
		// produce or a replay would write them; the copy of the refused
		// one carries a budget that would let it pass were it new.
		w := client.NewWriter(nil)
		defer w.Close()
		for _, v := range []string{
			`{"v":1,"id":"dup","requester":"drees","rule":"tax.income.mean","period":"2026","eps_micro":600000,"budget_micro":1000000,"at":"2026-01-05T10:00:00Z"}`,
			`{"v":1,"id":"refused","requester":"drees","rule":"tax.income.mean","period":"2026","eps_micro":1,"budget_micro":100000000,"at":"2026-01-05T10:00:00Z"}`,
		} {
			if err := w.Write(ctx, bus.Message{Topic: topic, Key: []byte("drees"), Value: []byte(v)}); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "the follower reads both copies", func() bool { return l.Stats().Duplicates == 2 })
		if acc := l.Account("drees", "tax.income.mean", "2026", b); acc.SpentMicro != 600_000 {
			t.Errorf("account %+v after duplicates, want 600000 spent", acc)
		}
		// A retry through the ledger writes nothing and returns the first
		// verdict.
		hw, err := client.HighWatermark(ctx, topic, 0)
		if err != nil {
			t.Fatal(err)
		}
		again, err := l.Spend(ctx, spend("dup", 600_000, b))
		if err != nil || again != first {
			t.Errorf("retry: %+v %v, want %+v accepted", again, err, first)
		}
		if _, err := l.Spend(ctx, spend("refused", 600_000, b)); !errors.Is(err, budget.ErrExhausted) {
			t.Errorf("retry of the refused spend: %v, want ErrExhausted", err)
		}
		if hw2, err := client.HighWatermark(ctx, topic, 0); err != nil || hw2 != hw {
			t.Errorf("retries wrote records: high watermark %d → %d (%v)", hw, hw2, err)
		}
		// The same id for another spend is a caller's bug, not a retry.
		if _, err := l.Spend(ctx, spend("dup", 1, b)); !errors.Is(err, budget.ErrInvalid) {
			t.Errorf("id reused for another amount: %v, want ErrInvalid", err)
		}
	})
}

func TestMalformedRecordsAreSkipped(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		client := tg.Client(t)
		topic := bustest.Topic(t, client, 1)
		w := client.NewWriter(nil)
		defer w.Close()
		bad := []string{
			`not json`,
			``,
			`{"v":2,"id":"future","requester":"drees","rule":"r","period":"2026","eps_micro":1,"budget_micro":1}`,
			`{"v":1,"id":"anon","rule":"tax.income.mean","period":"2026","eps_micro":1,"budget_micro":10}`,
			`{"v":1,"id":"neg","requester":"drees","rule":"tax.income.mean","period":"2026","eps_micro":-5,"budget_micro":10}`,
		}
		// Some before the ledger starts (read during its replay), some
		// after (read while following).
		write := func(vs ...string) {
			for _, v := range vs {
				if err := w.Write(ctx, bus.Message{Topic: topic, Value: []byte(v)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		write(bad[:3]...)
		l := start(t, client, topic)
		write(bad[3:]...)
		acc, err := l.Spend(ctx, spend("good", 10, 10))
		if err != nil || acc.SpentMicro != 10 {
			t.Fatalf("a spend after malformed records: %+v %v", acc, err)
		}
		if st := l.Stats(); st.Malformed != uint64(len(bad)) || st.Accepted != 1 {
			t.Errorf("stats %+v, want %d malformed and 1 accepted", st, len(bad))
		}
	})
}

func TestRunRefusesPartitionedTopic(t *testing.T) {
	tg := bustest.Embedded(t)
	client := tg.Client(t)
	l := budget.New(client, bustest.Topic(t, client, 2), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Run(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("Run on a topic of 2 partitions: %v, want an error at once", err)
	}
	if _, err := l.Spend(ctx, spend("x", 1, 1)); !errors.Is(err, budget.ErrStopped) {
		t.Errorf("Spend after Run failed: %v, want ErrStopped", err)
	}
}

func TestBudgetTopicSpec(t *testing.T) {
	for _, s := range bus.FixedTopics(3) {
		if s.Name != bus.TopicBudget {
			continue
		}
		if s.Partitions != 1 || s.Cleanup != bus.CleanupDelete || !s.KeepForever {
			t.Errorf("%+v: want one partition, not compacted, kept forever", s)
		}
		return
	}
	t.Errorf("FixedTopics lacks %s", bus.TopicBudget)
}

// BenchmarkSpend: the latency of a spend is a produce (acks=all) plus the
// time the follower takes to read it back.
func BenchmarkSpend(b *testing.B) {
	tg := bustest.Embedded(b)
	client := tg.Client(b)
	l := start(b, client, bustest.Topic(b, client, 1))
	ctx := context.Background()
	var seq sync.Mutex
	n := 0
	next := func() string {
		seq.Lock()
		defer seq.Unlock()
		n++
		return fmt.Sprintf("b%d", n)
	}
	const huge = 1 << 62
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Spend(ctx, spend(next(), 1, huge)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spends/s")
	})
	b.Run("concurrent", func(b *testing.B) {
		b.SetParallelism(16)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Spend(ctx, spend(next(), 1, huge)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "spends/s")
	})
}
