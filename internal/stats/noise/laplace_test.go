package noise

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// seeded is the deterministic randomness of the statistical tests: with a
// fixed seed each test gives the same verdict on every run, and the
// thresholds below (α = 10⁻³, 5σ) were chosen before looking at it.
func seeded(seed byte) io.Reader {
	return rand.NewChaCha8([32]byte{seed, 'p', 'a', 's', 's', 'e', 'r', 'e', 'l', 'l', 'e'})
}

// pmf is the discrete Laplace law of scale num/den, in floats: this is the
// check, not the sampler.
func pmf(num, den uint64, x int64) float64 {
	p := math.Exp(-float64(den) / float64(num))
	return (1 - p) / (1 + p) * math.Pow(p, math.Abs(float64(x)))
}

// chiSquareCritical is the 1−α quantile of χ² with df degrees of freedom,
// by the Wilson–Hilferty approximation (accurate to a few tenths of a
// percent for df ≥ 3); z is the normal quantile of 1−α.
func chiSquareCritical(df int, z float64) float64 {
	k := float64(df)
	c := 2 / (9 * k)
	return k * math.Pow(1-c+z*math.Sqrt(c), 3)
}

const z001 = 3.0902 // normal quantile of 1 − 10⁻³

func TestLaplaceDistribution(t *testing.T) {
	tests := []struct {
		num, den uint64
		n        int
	}{
		{2, 1, 200_000},
		{20, 1, 200_000},
		{7, 3, 100_000}, // a scale that is not an integer
		{1, 2, 100_000}, // a scale below one: almost always 0
		{2_000_000, 1_000_000, 50_000},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("scale=%d/%d", tt.num, tt.den), func(t *testing.T) {
			l, err := NewLaplace(tt.num, tt.den)
			if err != nil {
				t.Fatal(err)
			}
			r := seeded(byte(i))
			counts := map[int64]int{}
			var sum, sumSq, sumFourth float64
			for range tt.n {
				x, err := l.Sample(r)
				if err != nil {
					t.Fatal(err)
				}
				counts[x]++
				f := float64(x)
				sum += f
				sumSq += f * f
				sumFourth += f * f * f * f
			}
			n := float64(tt.n)

			// Goodness of fit: one bin per value whose expected count is at
			// least 5, the two tails lumped into the outermost bins.
			var k int64
			for n*pmf(tt.num, tt.den, k+1) >= 5 {
				k++
			}
			var chi2 float64
			bins := 0
			for x := -k; x <= k; x++ {
				expected := n * pmf(tt.num, tt.den, x)
				observed := float64(counts[x])
				if x == -k || x == k {
					tail := 0.0
					for y, c := range counts {
						if (x == k && y > k) || (x == -k && y < -k) {
							observed += float64(c)
						}
					}
					p := math.Exp(-float64(tt.den) / float64(tt.num))
					// Σ_{y>k} pmf(y) = pmf(k)·p/(1−p)
					tail = n * pmf(tt.num, tt.den, k) * p / (1 - p)
					expected += tail
				}
				chi2 += (observed - expected) * (observed - expected) / expected
				bins++
			}
			t.Logf("χ² = %.1f over %d bins", chi2, bins)
			if bins >= 4 {
				if limit := chiSquareCritical(bins-1, z001); chi2 > limit {
					t.Errorf("χ² = %.1f over %d bins, want ≤ %.1f (α = 10⁻³)", chi2, bins, limit)
				}
			}

			// Symmetry: P(X = x) = P(X = −x), as a binomial test on the
			// nonzero values at 5σ.
			var pos, nonzero float64
			for x, c := range counts {
				if x > 0 {
					pos += float64(c)
				}
				if x != 0 {
					nonzero += float64(c)
				}
			}
			if d := math.Abs(pos - nonzero/2); d > 5*math.Sqrt(nonzero/4) {
				t.Errorf("%v positive of %v nonzero: off by %.1fσ", pos, nonzero, d/math.Sqrt(nonzero/4))
			}

			// Mean 0 and variance 2p/(1−p)², each within 5 standard errors.
			p := math.Exp(-float64(tt.den) / float64(tt.num))
			wantVar := 2 * p / ((1 - p) * (1 - p))
			mean := sum / n
			if se := math.Sqrt(wantVar / n); math.Abs(mean) > 5*se {
				t.Errorf("mean %.4f, want 0 ± %.4f", mean, 5*se)
			}
			variance := sumSq/n - mean*mean
			// SE of the sample variance: √((μ₄ − σ⁴)/n), μ₄ estimated.
			if se := math.Sqrt((sumFourth/n - variance*variance) / n); math.Abs(variance-wantVar) > 5*se {
				t.Errorf("variance %.4f, want %.4f ± %.4f", variance, wantVar, 5*se)
			}
		})
	}
}

func TestBernoulliExp(t *testing.T) {
	tests := []struct{ n, d uint64 }{
		{0, 1}, {1, 3}, {1, 1}, {5, 2}, {3, 1},
		{1 << 62, 1 << 63}, // d·k overflows: the two-draw path
	}
	const n = 100_000
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.n, tt.d), func(t *testing.T) {
			r := &source{r: seeded(100 + byte(i))}
			hits := 0
			for range n {
				ok, err := r.bernoulliExp(tt.n, tt.d)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					hits++
				}
			}
			want := math.Exp(-float64(tt.n) / float64(tt.d))
			se := math.Sqrt(want * (1 - want) / n)
			if got := float64(hits) / n; math.Abs(got-want) > 5*se+1e-12 {
				t.Errorf("frequency %.5f, want %.5f ± %.5f", got, want, 5*se)
			}
		})
	}
}

func TestUniformUnbiased(t *testing.T) {
	// m = 3·2⁶² leaves 2⁶⁴ mod m = 2⁶² values to reject: without rejection,
	// residues below 2⁶² would come twice as often as the others.
	const m = 3 << 62
	r := &source{r: seeded(200)}
	const n = 60_000
	low := 0
	for range n {
		u, err := r.uniform(m)
		if err != nil {
			t.Fatal(err)
		}
		if u >= m {
			t.Fatalf("uniform returned %d ≥ %d", u, uint64(m))
		}
		if u < 1<<62 {
			low++
		}
	}
	want, se := n/3.0, math.Sqrt(n*(1.0/3)*(2.0/3))
	if math.Abs(float64(low)-want) > 5*se {
		t.Errorf("%d of %d below 2⁶², want %.0f ± %.0f", low, n, want, 5*se)
	}
}

func TestNewLaplaceRefusesZero(t *testing.T) {
	tests := []struct{ num, den uint64 }{{0, 1}, {1, 0}, {0, 0}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.num, tt.den), func(t *testing.T) {
			if _, err := NewLaplace(tt.num, tt.den); !errors.Is(err, ErrBadScale) {
				t.Errorf("NewLaplace(%d, %d) = %v, want ErrBadScale", tt.num, tt.den, err)
			}
		})
	}
}

func TestSampleReaderError(t *testing.T) {
	l, err := NewLaplace(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("entropy source gone")
	if _, err := l.Sample(failingReader{broken}); !errors.Is(err, broken) {
		t.Errorf("Sample = %v, want it to wrap %v", err, broken)
	}
	// A reader that ends mid-draw is an error too, never a short, biased draw.
	if _, err := l.Sample(io.LimitReader(seeded(1), 3)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Sample on a 3-byte reader = %v, want io.ErrUnexpectedEOF", err)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestScaleFor(t *testing.T) {
	tests := []struct {
		name             string
		sensitivity, eps uint64
		wantNum, wantDen uint64
	}{
		{"Δ=1 ε=1", 1, 1_000_000, 1, 1},
		{"Δ=1 ε=0.5", 1, 500_000, 2, 1},
		{"Δ=1 ε=0.05", 1, 50_000, 20, 1},
		{"Δ=3 ε=0.7", 3, 700_000, 30, 7},
		{"Δ=7 ε=0.7", 7, 700_000, 10, 1},
		{"Δ=1 ε=3", 1, 3_000_000, 1, 3},
		{"ε=0", 1, 0, 0, 0},
		{"Δ=0", 0, 1, 0, 0},
		{"overflow", math.MaxUint64, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			num, den := ScaleFor(tt.sensitivity, tt.eps)
			if num != tt.wantNum || den != tt.wantDen {
				t.Errorf("ScaleFor(%d, %d) = %d/%d, want %d/%d", tt.sensitivity, tt.eps, num, den, tt.wantNum, tt.wantDen)
			}
		})
	}
}

// BenchmarkLaplace measures samples/s with the production source,
// crypto/rand, and with a ChaCha8 stream to separate the sampler's own cost
// from the entropy source's.
func BenchmarkLaplace(b *testing.B) {
	for _, scale := range []uint64{2, 20} {
		for _, src := range []struct {
			name string
			r    func() io.Reader
		}{
			{"crypto", func() io.Reader { return crand.Reader }},
			{"chacha8", func() io.Reader { return seeded(0) }},
		} {
			b.Run(fmt.Sprintf("scale=%d/%s", scale, src.name), func(b *testing.B) {
				l, err := NewLaplace(scale, 1)
				if err != nil {
					b.Fatal(err)
				}
				r := src.r()
				for b.Loop() {
					if _, err := l.Sample(r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}
