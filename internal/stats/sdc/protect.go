package sdc

import "fmt"

// Protect adds secondary suppressions. It returns the number of primary
// cells it could not prove protected by a hypercube (0 in the normal case;
// if > 0 the caller reports them). Same input, same output: primaries are
// visited in index order and every tie is broken by a fixed order.
func (t *Table) Protect() (unproven int, err error) {
	unproven, _, err = t.protect()
	return unproven, err
}

// protect also returns the search's work, which the benchmark reports: on a
// shared machine it compares two versions of the search where time cannot.
func (t *Table) protect() (unproven, visited int, err error) {
	if err := t.validate(); err != nil {
		return 0, 0, fmt.Errorf("protect table: %w", err)
	}
	s := newSearch(t)
	for p := range t.Cells {
		if !t.Cells[p].Status.Primary() {
			continue
		}
		if !s.run(p) {
			unproven++
			continue
		}
		s.suppressBest(p)
	}
	return unproven, s.visited, nil
}
