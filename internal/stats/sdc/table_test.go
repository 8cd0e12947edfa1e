package sdc

import (
	"errors"
	"slices"
	"testing"
)

func TestIndexCoord(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int
		coord []int
		index int
	}{
		{"1-D first", []int{3}, []int{0}, 0},
		{"1-D total", []int{3}, []int{3}, 3},
		{"2-D interior", []int{2, 3}, []int{1, 2}, 1*4 + 2},
		{"2-D grand total", []int{2, 3}, []int{2, 3}, 11},
		{"3-D", []int{2, 3, 4}, []int{1, 0, 3}, 1*4*5 + 0*5 + 3},
		{"4-D last", []int{3, 11, 102, 6}, []int{3, 11, 102, 6}, 4*12*103*7 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := NewTable(tt.sizes, 1)
			if got := tab.Index(tt.coord); got != tt.index {
				t.Fatalf("Index(%v) = %d, want %d", tt.coord, got, tt.index)
			}
			if got := tab.Coord(tt.index, nil); !slices.Equal(got, tt.coord) {
				t.Fatalf("Coord(%d) = %v, want %v", tt.index, got, tt.coord)
			}
		})
	}
}

func TestIndexCoordRoundTrip(t *testing.T) {
	tab := NewTable([]int{2, 3, 1, 4}, 0)
	coord := make([]int, 4)
	for i := range tab.Cells {
		coord = tab.Coord(i, coord)
		if got := tab.Index(coord); got != i {
			t.Fatalf("Index(Coord(%d)) = %d", i, got)
		}
	}
}

func TestIndexOutOfRange(t *testing.T) {
	tab := NewTable([]int{2, 3}, 0)
	for _, coord := range [][]int{{0}, {0, 0, 0}, {-1, 0}, {3, 0}, {0, 4}} {
		if got := tab.Index(coord); got != -1 {
			t.Errorf("Index(%v) = %d, want -1", coord, got)
		}
	}
}

func TestStatusString(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{Released, ""},
		{KThreshold, "k-threshold"},
		{Dominance, "dominance"},
		{Secondary, "secondary"},
		{Status(9), "Status(9)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%d).String() = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestProtectRejects(t *testing.T) {
	tests := []struct {
		name  string
		table func() *Table
		want  error
	}{
		{"no dimension", func() *Table { return &Table{} }, ErrShape},
		{"five dimensions", func() *Table { return &Table{Sizes: []int{1, 1, 1, 1, 1}} }, ErrShape},
		{"empty dimension", func() *Table { return &Table{Sizes: []int{0}} }, ErrShape},
		{"cells missing", func() *Table { return &Table{Sizes: []int{2}, Cells: make([]Cell, 2)} }, ErrShape},
		{"ragged sums", func() *Table {
			tab := NewTable([]int{2}, 1)
			tab.Cells[1].Sums = nil
			return tab
		}, ErrShape},
		{"needs of another length", func() *Table {
			tab := NewTable([]int{2}, 1)
			tab.Cells[1].NeedSums = []float64{1, 2}
			return tab
		}, ErrShape},
		{"negative count", func() *Table {
			tab := NewTable([]int{1}, 0)
			tab.Cells[0].Count, tab.Cells[1].Count = -1, -1
			return tab
		}, ErrValue},
		{"NaN sum", func() *Table {
			tab := NewTable([]int{1}, 1)
			tab.Cells[0].Sums[0] = nanValue()
			return tab
		}, ErrValue},
		{"unknown status", func() *Table {
			tab := NewTable([]int{1}, 0)
			tab.Cells[0].Status = 7
			return tab
		}, ErrValue},
		{"total off by one", func() *Table {
			tab := NewTable([]int{2, 2}, 0)
			tab.Cells[tab.Index([]int{0, 0})].Count = 1
			return tab
		}, ErrNotAdditive},
		{"sum total off", func() *Table {
			tab := NewTable([]int{2}, 1)
			tab.Cells[0].Sums[0] = 1
			tab.Cells[2].Sums[0] = 1.5
			return tab
		}, ErrNotAdditive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.table().Protect()
			if !errors.Is(err, tt.want) {
				t.Fatalf("Protect() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}
