package sdc

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzProtect builds a small additive table from the seed and shape, then
// lets the fuzzer's bytes mark primaries with arbitrary needs and, now and
// then, break a count. Protect must never panic, must refuse a broken
// table with one of its errors, and on a good one must keep every primary,
// only turn released cells Secondary, and prove every primary: a cube of
// totals, all corners moving up together, always exists.
func FuzzProtect(f *testing.F) {
	f.Add(uint64(1), uint8(0x1b), uint8(1), []byte{0, 3, 7, 200})
	f.Add(uint64(2), uint8(0xff), uint8(2), []byte{})
	f.Add(uint64(3), uint8(0x00), uint8(0), []byte{255, 255, 1, 0})
	f.Fuzz(func(t *testing.T, seed uint64, shape, measures uint8, edits []byte) {
		r := rand.New(rand.NewPCG(seed, uint64(shape)))
		sizes := make([]int, 1+int(shape&3))
		for k := range sizes {
			sizes[k] = 1 + r.IntN(3)
		}
		tab := randomTable(r, sizes, int(measures%3), 5)
		broken := false
		for i := 0; i+1 < len(edits); i += 2 {
			c := &tab.Cells[int(edits[i])*7%len(tab.Cells)]
			switch e := edits[i+1]; {
			case e == 255:
				c.Count++
				broken = true
			case e >= 128:
				c.Status, c.NeedCount = Dominance, 0
				c.NeedSums = scaled(c.Sums, float64(e-128)/64)
			default:
				c.Status, c.NeedCount = KThreshold, float64(e)
			}
		}
		before := statuses(tab)
		unproven, err := tab.Protect()
		if broken {
			if err == nil && !additive(tab) {
				t.Fatal("Protect accepted a table that is not additive")
			}
			if err != nil && !errors.Is(err, ErrNotAdditive) {
				t.Fatalf("Protect() error = %v, want ErrNotAdditive", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Protect() error = %v on a valid table", err)
		}
		if unproven != 0 {
			t.Fatalf("%d primaries unproven", unproven)
		}
		for i, s := range statuses(tab) {
			if was := before[i]; s != was && (was != Released || s != Secondary) {
				t.Fatalf("cell %v went from %v to %v", tab.Coord(i, nil), was, s)
			}
		}
	})
}

func additive(tab *Table) bool { return tab.checkAdditive(tab.measures()) == nil }
