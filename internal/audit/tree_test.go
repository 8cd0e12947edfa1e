package audit_test

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
)

func events(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"id":"e%d","decision":"allow"}`, i)
	}
	return out
}

func TestProofs(t *testing.T) {
	var tr audit.Tree
	evs := events(33)
	for _, e := range evs {
		tr.Append(e)
	}
	root, _ := tr.Root(33)
	for i := range int64(33) {
		p, err := tr.Inclusion(i, 33)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, 33, root, i, tlog.RecordHash(evs[i])); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	old, _ := tr.Root(10)
	p, err := tr.Consistency(10, 33)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(p, 33, root, 10, old); err != nil {
		t.Fatalf("consistency 10 → 33: %v", err)
	}
}

func BenchmarkTreeAppend(b *testing.B) {
	evs := events(100_000)
	b.ResetTimer()
	for b.Loop() {
		var tr audit.Tree
		for _, e := range evs {
			tr.Append(e)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
