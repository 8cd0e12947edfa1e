package sdc

import "errors"

// Errors returned by Protect. Each means the table was built wrongly by the
// caller: nothing of it may be released, and retrying will not help.
var (
	// ErrShape: Sizes, Cells or the per-cell slices disagree, e.g. a
	// dimension with no category or a Sums slice of another length.
	ErrShape = errors.New("table shape is invalid")
	// ErrValue: a count, sum or need is negative, NaN or infinite, or a
	// status is unknown.
	ErrValue = errors.New("cell value is invalid")
	// ErrNotAdditive: a total is not the sum of its categories. The
	// protection proof rests on additivity, so it would be void.
	ErrNotAdditive = errors.New("table is not additive")
)
