package policy

import "embed"

// Default is the policy shipped with the binary: purposes.yaml and
// rules/*.yaml (with their *.test.yaml examples), loaded with Load(Default, ".").
//
//go:embed purposes.yaml rules
var Default embed.FS
