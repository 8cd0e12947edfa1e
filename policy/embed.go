package policy

import "embed"

// Default is the policy shipped with the binary: purposes.yaml and
// rules/*.yaml (with their *.test.yaml examples) and
// aggregates/*.yaml, loaded with Load(Default, ".").
//
//go:embed purposes.yaml rules aggregates
var Default embed.FS
