package audit

import (
	"slices"
	"testing"
)

func TestLeafRuns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  int64
		leaves []int64 // of seqs first, first+1, ...
		runs   int
	}{
		{"a writer alone", 0, []int64{0, 1, 2, 3, 4, 5}, 1},
		{"two writers interleaved", 0, []int64{0, 1, 4, 5, 6, 9}, 3},
		// A gap (seqs dropped) puts the missing seqs at the next one's leaf.
		{"a gap", 10, []int64{3, 4, 5, 5, 5, 6}, 3},
		{"one event", 7, []int64{42}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := leafRuns{first: tc.first}
			for _, leaf := range tc.leaves {
				l.push(leaf)
			}
			if len(l.runs) != tc.runs {
				t.Errorf("%d runs, want %d: %+v", len(l.runs), tc.runs, l.runs)
			}
			for i, want := range tc.leaves {
				if got := l.at(tc.first + int64(i)); got != want {
					t.Errorf("seq %d at leaf %d, want %d", tc.first+int64(i), got, want)
				}
			}
			snap := l.clone()
			l.push(1000)
			var seen []int64
			snap.each(func(seq, leaf int64) error {
				if seq != tc.first+int64(len(seen)) {
					t.Errorf("seq %d out of order", seq)
				}
				seen = append(seen, leaf)
				return nil
			})
			if !slices.Equal(seen, tc.leaves) {
				t.Errorf("clone holds %v, want %v", seen, tc.leaves)
			}
			// Forget up to every point, including mid-run.
			for cut := range int64(len(tc.leaves)) + 1 {
				d := snap.clone()
				d.dropBefore(tc.first + cut)
				if d.first != tc.first+cut || d.n != int64(len(tc.leaves))-cut {
					t.Fatalf("cut %d: first %d, %d held", cut, d.first, d.n)
				}
				for i := cut; i < int64(len(tc.leaves)); i++ {
					if got := d.at(tc.first + i); got != tc.leaves[i] {
						t.Errorf("cut %d: seq %d at %d, want %d", cut, tc.first+i, got, tc.leaves[i])
					}
				}
				d.push(2000)
				if got := d.at(tc.first + int64(len(tc.leaves))); got != 2000 {
					t.Errorf("cut %d: pushed after, at %d", cut, got)
				}
			}
		})
	}
}
