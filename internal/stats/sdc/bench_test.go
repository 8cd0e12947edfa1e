package sdc

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkProtect protects a table the size of a real breakdown (3 × 11 ×
// 102 × 6 categories, 34,608 cells with margins) where a third of the cells
// are small, so that thousands of primaries each need a cube.
func BenchmarkProtect(b *testing.B) {
	sizes := []int{3, 11, 102, 6}
	base := randomTable(rand.New(rand.NewPCG(42, 42)), sizes, 2, 5)
	primaries := 0
	for _, c := range base.Cells {
		if c.Status.Primary() {
			primaries++
		}
	}
	tab := NewTable(sizes, 2)
	visited := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for i := range base.Cells {
			sums := tab.Cells[i].Sums
			copy(sums, base.Cells[i].Sums)
			tab.Cells[i] = base.Cells[i]
			tab.Cells[i].Sums = sums
		}
		b.StartTimer()
		_, v, err := tab.protect()
		if err != nil {
			b.Fatal(err)
		}
		visited = v
	}
	secondaries := 0
	for _, c := range tab.Cells {
		if c.Status == Secondary {
			secondaries++
		}
	}
	b.ReportMetric(float64(primaries), "primaries")
	b.ReportMetric(float64(secondaries), "secondaries")
	b.ReportMetric(float64(visited), "extensions")
}
