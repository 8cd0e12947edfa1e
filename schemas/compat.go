package schemas

import (
	"errors"
	"fmt"

	"github.com/hamba/avro/v2"
)

// Mode is a Confluent Schema Registry compatibility mode.
type Mode string

// The modes, spelled as Confluent spells them.
const (
	None               Mode = "NONE"
	Backward           Mode = "BACKWARD"
	BackwardTransitive Mode = "BACKWARD_TRANSITIVE"
	Forward            Mode = "FORWARD"
	ForwardTransitive  Mode = "FORWARD_TRANSITIVE"
	Full               Mode = "FULL"
	FullTransitive     Mode = "FULL_TRANSITIVE"
)

// ParseMode accepts a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive:
		return m, nil
	}
	return "", fmt.Errorf("unknown compatibility mode %q", s)
}

func (m Mode) backward() bool {
	return m == Backward || m == BackwardTransitive || m == Full || m == FullTransitive
}

func (m Mode) forward() bool {
	return m == Forward || m == ForwardTransitive || m == Full || m == FullTransitive
}

func (m Mode) transitive() bool {
	return m == BackwardTransitive || m == ForwardTransitive || m == FullTransitive
}

// CanRead reports whether data written with writer can be read with reader,
// by Avro's schema resolution rules.
func CanRead(reader, writer avro.Schema) error {
	// A fresh checker each time: hamba caches results by canonical-form
	// fingerprint, and the canonical form drops field defaults, so a cached
	// answer for a reader with a default would be reused for the same reader
	// without one (see TestCheckerCacheIgnoresDefaults).
	if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
		return fmt.Errorf("%w: %w", ErrIncompatible, err)
	}
	return nil
}

// CheckNew reports whether next may be added after prev under mode, as the
// registry would when asked to register it. prev is oldest first.
func CheckNew(mode Mode, prev []avro.Schema, next avro.Schema) error {
	if mode == None || len(prev) == 0 {
		return nil
	}
	against := prev
	if !mode.transitive() {
		against = prev[len(prev)-1:]
	}
	var errs []error
	for i, old := range against {
		n := len(prev) - len(against) + i + 1
		if mode.backward() {
			if err := CanRead(next, old); err != nil {
				errs = append(errs, fmt.Errorf("backward: the new schema cannot read version %d: %w", n, err))
			}
		}
		if mode.forward() {
			if err := CanRead(old, next); err != nil {
				errs = append(errs, fmt.Errorf("forward: version %d cannot read the new schema: %w", n, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Check verifies every subject's history against its mode: each version
// must have been acceptable when it was added.
func (c *Catalog) Check() error {
	var errs []error
	for _, s := range c.subjects {
		for i := 1; i < len(s.Versions); i++ {
			prev := make([]avro.Schema, i)
			for j := range i {
				prev[j] = s.Versions[j].Schema
			}
			if err := CheckNew(s.Compatibility, prev, s.Versions[i].Schema); err != nil {
				errs = append(errs, fmt.Errorf("%s version %d (%s) breaks %s: %w", s.Name, s.Versions[i].Version, s.Versions[i].File, s.Compatibility, err))
			}
		}
	}
	return errors.Join(errs...)
}
