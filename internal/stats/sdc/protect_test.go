package sdc

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestProtectHandChecked covers tables small enough to find the best cube
// by hand; the comments give the arithmetic.
func TestProtectHandChecked(t *testing.T) {
	tests := []struct {
		name      string
		sizes     []int
		counts    []int64 // interior only
		primary   []int
		need      float64
		secondary [][]int
	}{
		{
			// Partner 1 gives a width of 10 + min(2) for a cost of 10,
			// partner 2 costs 30, the total 42.
			name: "1-D cheapest category", sizes: []int{3},
			counts: []int64{2, 10, 30}, primary: []int{0}, need: 3,
			secondary: [][]int{{1}},
		},
		{
			// A zero partner leaves only the way down, 2 < 3 wide.
			name: "1-D zero partner is not enough", sizes: []int{3},
			counts: []int64{2, 0, 30}, primary: []int{0}, need: 3,
			secondary: [][]int{{2}},
		},
		{
			// The only category: the total moves with it, the rise is
			// unbounded.
			name: "1-D single category takes its total", sizes: []int{1},
			counts: []int64{2}, primary: []int{0}, need: 3,
			secondary: [][]int{{1}},
		},
		{
			// Cube rows {0,1} × columns {0,1}: corners 5 and 6 negative,
			// 30 positive, width 5 + 1, cost 41. Anything through a
			// margin costs at least 5 + 32 + 85.
			name: "2-D rectangle", sizes: []int{3, 3},
			counts: []int64{
				1, 5, 20,
				6, 30, 40,
				25, 50, 60,
			},
			primary: []int{0, 0}, need: 3,
			secondary: [][]int{{0, 1}, {1, 0}, {1, 1}},
		},
		{
			// Rectangle {0,1}×{0,1}: 3 and 100 negative, 100 positive,
			// cost 203. Through row 0's total (4, positive): corners 4,
			// 100 and 200, cost 304; through column 0's total: 101, 3
			// and 103, cost 207; through both totals: 310.
			name: "2-D margin partner loses to cheaper rectangle", sizes: []int{2, 2},
			counts:  []int64{1, 3, 100, 100},
			primary: []int{0, 0}, need: 3,
			secondary: [][]int{{0, 1}, {1, 0}, {1, 1}},
		},
		{
			// A single column: its total is the only column partner and
			// moves with it (+). Row partner 1: corners (0,1)=1 +,
			// (1,0)=8 -, (1,1)=8 -, width 8 + 1, cost 17; row 2 costs 19.
			name: "2-D three rows one column", sizes: []int{3, 1},
			counts: []int64{1, 8, 9}, primary: []int{0, 0}, need: 3,
			secondary: [][]int{{0, 1}, {1, 0}, {1, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := withMargins(tt.sizes, tt.counts)
			p := &tab.Cells[tab.Index(tt.primary)]
			p.Status, p.NeedCount = KThreshold, tt.need
			unproven, err := tab.Protect()
			if err != nil || unproven != 0 {
				t.Fatalf("Protect() = %d, %v", unproven, err)
			}
			var got [][]int
			for i, c := range tab.Cells {
				if c.Status == Secondary {
					got = append(got, tab.Coord(i, nil))
				}
			}
			if !slices.EqualFunc(got, tt.secondary, slices.Equal) {
				t.Fatalf("secondaries = %v, want %v", got, tt.secondary)
			}
		})
	}
}

// TestProtectKeepsPrimaries: Protect only ever adds Secondary.
func TestProtectKeepsPrimaries(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tab := randomTable(r, []int{4, 3, 3}, 2, 5)
	before := slices.Clone(tab.Cells)
	if _, err := tab.Protect(); err != nil {
		t.Fatal(err)
	}
	for i, c := range tab.Cells {
		if was := before[i].Status; was != Released && c.Status != was {
			t.Fatalf("cell %v went from %v to %v", tab.Coord(i, nil), was, c.Status)
		}
	}
}

// TestProtectDeterministic: the same table protects the same way, and a
// protected table is a fixed point (every primary's cube is already there).
func TestProtectDeterministic(t *testing.T) {
	for seed := range uint64(20) {
		sizes := [][]int{{5}, {4, 6}, {3, 4, 5}, {2, 3, 2, 4}}[seed%4]
		a := randomTable(rand.New(rand.NewPCG(seed, 7)), sizes, 2, 5)
		b := randomTable(rand.New(rand.NewPCG(seed, 7)), sizes, 2, 5)
		if _, err := a.Protect(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Protect(); err != nil {
			t.Fatal(err)
		}
		first := statuses(a)
		if !slices.Equal(first, statuses(b)) {
			t.Fatalf("seed %d: two runs differ", seed)
		}
		if _, err := a.Protect(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(first, statuses(a)) {
			t.Fatalf("seed %d: protecting again added suppressions", seed)
		}
	}
}

func statuses(tab *Table) []Status {
	out := make([]Status, len(tab.Cells))
	for i, c := range tab.Cells {
		out[i] = c.Status
	}
	return out
}
