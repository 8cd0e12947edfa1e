package noise

import "errors"

var (
	// ErrBadScale means a scale's numerator or denominator is zero (for
	// instance ε was zero, or sensitivity × 10⁶ overflowed in [ScaleFor]).
	// The caller fixes its parameters: no noise can be drawn from it.
	ErrBadScale = errors.New("invalid noise scale")

	// ErrOutOfRange means a sample did not fit in an int64. At any scale a
	// caller can use this has probability below 2⁻⁶⁰; the caller refuses the
	// answer rather than publish a clamped, biased value.
	ErrOutOfRange = errors.New("noise sample out of range")
)
