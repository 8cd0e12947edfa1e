package sdc

import "strconv"

// Status says whether a cell is released and, if not, why it is suppressed.
// The primary reasons are set by the caller, who knows the contributors;
// Protect only ever adds Secondary.
type Status uint8

const (
	// Released: the cell is published.
	Released Status = iota
	// KThreshold: primary, fewer than k contributors.
	KThreshold
	// Dominance: primary, a dominant contributor in a sum.
	Dominance
	// Secondary: added by Protect so that a primary cannot be recomputed
	// from the released cells.
	Secondary
)

// String is empty for Released so that a released cell prints no flag.
func (s Status) String() string {
	switch s {
	case Released:
		return ""
	case KThreshold:
		return "k-threshold"
	case Dominance:
		return "dominance"
	case Secondary:
		return "secondary"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Primary reports whether the caller suppressed the cell for its own
// contributors, so that it needs protection.
func (s Status) Primary() bool { return s == KThreshold || s == Dominance }

// Suppressed reports whether the cell is withheld from the release.
func (s Status) Suppressed() bool { return s != Released }
