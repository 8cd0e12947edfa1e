package audit

import "sort"

// leafRuns maps a writer's sequence numbers, from first on, to the leaves
// they landed at, to recognise a retried write. One writer's events land
// on consecutive leaves unless another writer's come between, so runs
// hold them: one for a gateway writing alone, about one a group commit for
// several, instead of 8 bytes an event for the whole log.
type leafRuns struct {
	first int64 // seq of the first leaf held
	runs  []leafRun
	n     int64 // seqs held
}

// A leafRun is seqs seq to seq+n-1 at leaves leaf to leaf+n-1.
type leafRun struct{ seq, leaf, n int64 }

// push records the leaf of the next seq, first+len.
func (l *leafRuns) push(leaf int64) {
	seq := l.first + l.n
	l.n++
	if k := len(l.runs) - 1; k >= 0 && l.runs[k].leaf+l.runs[k].n == leaf {
		l.runs[k].n++
		return
	}
	l.runs = append(l.runs, leafRun{seq: seq, leaf: leaf, n: 1})
}

// at is the leaf of seq, which must be in [first, first+len).
func (l *leafRuns) at(seq int64) int64 {
	k := sort.Search(len(l.runs), func(k int) bool { return l.runs[k].seq > seq }) - 1
	return l.runs[k].leaf + seq - l.runs[k].seq
}

// each calls f for each seq held, in order.
func (l *leafRuns) each(f func(seq, leaf int64) error) error {
	for _, r := range l.runs {
		for i := range r.n {
			if err := f(r.seq+i, r.leaf+i); err != nil {
				return err
			}
		}
	}
	return nil
}

// clone is a copy that later pushes do not change.
func (l leafRuns) clone() leafRuns {
	l.runs = append([]leafRun(nil), l.runs...)
	return l
}

// dropBefore forgets the seqs before seq (a disk index now holds them).
func (l *leafRuns) dropBefore(seq int64) {
	if seq <= l.first {
		return
	}
	seq = min(seq, l.first+l.n)
	var kept []leafRun
	for _, r := range l.runs {
		if end := r.seq + r.n; end > seq {
			if r.seq < seq {
				r.leaf, r.n, r.seq = r.leaf+seq-r.seq, end-seq, seq
			}
			kept = append(kept, r)
		}
	}
	l.runs, l.n, l.first = kept, l.n-(seq-l.first), seq
}
