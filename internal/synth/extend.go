package synth

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"
)

// What a domain's own generator (internal/domains/<name>/synth.go) builds
// on: the population's citizens and their facts, a random stream of its
// own, and the defects every source suffers. A generator outside this
// package never changes what Generate draws: adding a domain leaves every
// other domain's rows byte for byte the same.

// Rand returns a random stream for the generator called name:
// deterministic in the population's seed and the name, and independent of
// every stream Generate draws from.
func (p *Population) Rand(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	// The top bit set keeps it apart from Generate's small stream ids.
	return rand.New(rand.NewPCG(uint64(p.Seed), h.Sum64()|1<<63))
}

// Stranger returns a valid NIR that no citizen of p has, for a defective
// row: a defective row never shadows a citizen's valid one.
func (p *Population) Stranger(r *rand.Rand) string {
	p.takenOnce.Do(func() {
		p.taken = make(map[string]struct{}, len(p.Citizens))
		for _, c := range p.Citizens {
			p.taken[c.NIR[:13]] = struct{}{}
		}
	})
	for {
		// Born abroad (department 99) in a country code no citizen's
		// generator uses, so a collision is rare and then redrawn.
		body := fmt.Sprintf("%d%02d%02d99%03d%03d", 1+r.IntN(2), 40+r.IntN(60), 1+r.IntN(12), 400+r.IntN(100), 1+r.IntN(999))
		if _, taken := p.taken[body]; !taken {
			p.taken[body] = struct{}{}
			return withKey(body)
		}
	}
}

// strangers is the lazily built set Stranger draws against.
type strangers struct {
	takenOnce sync.Once
	taken     map[string]struct{}
}

// Add lists one row written: valid when d is the zero Defect.
func (m *Manifest) Add(key, nir string, d Defect) { m.add(key, nir, d) }

// DefectCount is how many defective rows make them the share rate of all
// rows, next to valid ones.
func DefectCount(valid int, rate float64) int { return defectCount(valid, rate) }

// Mix returns valid with m defective rows, made by mk, at random
// positions; mk sees the row before it (nil first).
func Mix[T any](r *rand.Rand, valid []T, m int, mk func(prev *T) T) []T { return mix(r, valid, m, mk) }

// NIRDefect spoils a valid NIR, for kind DefectNIRKey (a wrong key) or
// DefectNIRFormat (not a NIR's shape).
func NIRDefect(r *rand.Rand, kind DefectKind, nir string) string { return nirDefect(r, kind, nir) }

// BadDate is a string that is not a YYYY-MM-DD date.
func BadDate(r *rand.Rand) string { return badDate(r) }

// Spread is the i-th of n instants spread evenly over span from start, to
// the second.
func Spread(start time.Time, span time.Duration, i, n int) time.Time {
	return spread(start, span, i, n)
}
