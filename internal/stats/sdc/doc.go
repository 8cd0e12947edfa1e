// Package sdc protects aggregate tables before release: statistical
// disclosure control by cell suppression.
//
// The caller builds a table of up to 4 categorical dimensions with all its
// margins (each dimension has Sizes[i] categories and a total at index
// Sizes[i]), marks the primary suppressions (KThreshold, Dominance) with the
// protection each needs, and calls Protect. Protect adds Secondary
// suppressions so that no primary can be recomputed, or narrowed to an
// interval narrower than its Need, from the released cells.
//
// # Method: the hypercube
//
// This is τ-ARGUS's hypercube method (Repsilber; Giessing), generalised to a
// single table that holds its own margins. For a primary at c, a cube picks
// in every dimension a partner b_i ≠ c_i among 0..Sizes[i], the total
// included. Its 2^d corners take c_i or b_i in each dimension. Shifting the
// primary by +δ keeps every additivity equation (in every dimension, along
// every line, totals included) if each corner moves by sign·δ, the sign
// being the product, over the dimensions where the corner takes b_i, of
//
//	s_i = -1 when c_i and b_i are both categories (their total stays put),
//	s_i = +1 when one of them is the total (category and total move together).
//
// Why this is right: the shift is the tensor product of one vector per
// dimension, e_c + s_i·e_b, and the equation "total minus its categories"
// maps each of these to zero (1-1 for two categories, 1-1 for a category
// and its total), hence the product to zero along every line. An attacker
// who knows the structure and that cells are non-negative can therefore
// move the primary up while every negative corner stays ≥ 0 and down while
// the primary and every positive corner do: the feasible interval is at
// least min(negative corners) + min(primary, positive corners) wide, for the
// count and for each sum alike. A cube with no negative corner (every
// partner a total) leaves the primary unbounded above.
//
// Protect visits the primaries in index order (row-major: cells before
// their totals) and, for each, picks the
// feasible cube (wide enough for the count and every sum) of least cost:
// the counts of the corners it must newly suppress, then the fewest new
// suppressions, then the first in a fixed visiting order. Its corners
// become Secondary. Suppressions are only ever added, so every primary's
// cube stays fully suppressed to the end and its proof holds in the final
// table. The search is a branch and bound over the partners, dimension by
// dimension: minima only fall and costs only rise as corners are added, so
// a partial cube that is already too narrow or too costly is cut. Partners
// that make the cube too narrow alone are dropped before the search, and
// the dimension with the most partners is extended last. On the benchmark
// table (3 × 11 × 102 × 6 categories, 34,608 cells with margins, about 6,900
// primaries) Protect takes about half a second.
//
// Zero cells need nothing special: a released zero is fine, and a zero
// corner simply makes its side of the interval zero, which the width test
// accounts for. In one dimension the cube is the primary and one partner,
// the total among the candidates, so a lone suppressed category is never
// left for its total to give away.
//
// # Why the hypercube
//
// It is fast (one bounded search per primary, no solver), each primary
// comes with its own proof, and it is τ-ARGUS's reference method for large
// tables. Optimal suppression needs a mixed-integer program and a solver:
// too slow for an on-line query.
//
// # Known limits
//
//   - It over-suppresses: cubes are chosen greedily, one primary at a time,
//     and a pattern that protects two primaries together without a cube for
//     each is never found. The hypercube is not optimal.
//   - The protection is against an LP attacker who knows the table
//     structure and non-negativity, and nothing else. A contributor to a
//     secondary that has a single contributor (a singleton) knows that
//     cell's value and may narrow intervals further; that is for the
//     caller's primary rules to prevent.
//   - Need is a width, not a side: the interval may start or end at the
//     true value.
//   - Protect returns the primaries it found no feasible cube for, but with
//     margins in the table there always is one: taking the total as partner
//     wherever the primary is a category (and a category where it is a
//     total) gives a cube with no negative corner, whose interval is
//     unbounded above. The count stays in the API as the caller's check and
//     is 0; that cube is the most costly one and is chosen only when
//     nothing cheaper is wide enough.
//   - A primary whose needs are all zero is still kept from being exact: it
//     gets a count width of one.
package sdc
