package noise

import (
	"fmt"
	"io"
	"math"
	"math/bits"
)

// Laplace samples discrete Laplace noise of scale num/den:
// P(x) ∝ exp(−|x|·den/num) for every integer x.
//
// A Laplace holds only its scale; it is safe for concurrent use as long as
// each goroutine's reader is (crypto/rand.Reader is).
type Laplace struct {
	num, den uint64
}

// NewLaplace returns the sampler of scale num/den. It returns ErrBadScale
// if either is zero.
func NewLaplace(num, den uint64) (*Laplace, error) {
	if num == 0 || den == 0 {
		return nil, fmt.Errorf("new laplace %d/%d: %w", num, den, ErrBadScale)
	}
	// Reduced, so that the uniform draws are over the smallest range.
	g := gcd(num, den)
	return &Laplace{num: num / g, den: den / g}, nil
}

// Sample draws one value: Algorithm 2 of Canonne, Kamath & Steinke 2020
// with t = num and s = den. It fails only if r fails (the error wraps r's)
// or, with negligible probability, with ErrOutOfRange.
func (l *Laplace) Sample(r io.Reader) (int64, error) {
	t, s := l.num, l.den
	src := &source{r: r}
	for {
		// X = U + t·V is geometric: P(X = x) ∝ exp(−x/t). U is its
		// remainder mod t, accepted with probability exp(−U/t), V its
		// quotient, geometric with ratio exp(−1).
		u, err := src.uniform(t)
		if err != nil {
			return 0, fmt.Errorf("sample laplace: %w", err)
		}
		d, err := src.bernoulliExp(u, t)
		if err != nil {
			return 0, fmt.Errorf("sample laplace: %w", err)
		}
		if !d {
			continue
		}
		var v uint64
		for {
			a, err := src.bernoulliExp(1, 1)
			if err != nil {
				return 0, fmt.Errorf("sample laplace: %w", err)
			}
			if !a {
				break
			}
			v++
		}
		// Y = ⌊X/s⌋, in 128 bits: P(Y = y) ∝ exp(−y·s/t).
		hi, lo := bits.Mul64(t, v)
		lo, carry := bits.Add64(lo, u, 0)
		hi += carry
		if hi >= s {
			return 0, fmt.Errorf("sample laplace: %w", ErrOutOfRange)
		}
		y, _ := bits.Div64(hi, lo, s)
		if y > math.MaxInt64 {
			return 0, fmt.Errorf("sample laplace: %w", ErrOutOfRange)
		}
		// A random sign; −0 is rejected, or 0 would be drawn twice as often
		// as the two-sided law wants.
		neg, err := src.bernoulli(1, 2)
		if err != nil {
			return 0, fmt.Errorf("sample laplace: %w", err)
		}
		if neg && y == 0 {
			continue
		}
		if neg {
			return -int64(y), nil
		}
		return int64(y), nil
	}
}

// microPerUnit is the denominator of ε given in micro-units.
const microPerUnit = 1_000_000

// ScaleFor returns the scale for sensitivity Δ (integer) and ε given as a
// rational epsMicro/1e6: t = Δ/ε = Δ·10⁶/epsMicro, reduced. It returns
// (0, 0), which NewLaplace refuses, when either is zero or the numerator
// does not fit in a uint64.
func ScaleFor(sensitivity uint64, epsMicro uint64) (num, den uint64) {
	if sensitivity == 0 || epsMicro == 0 {
		return 0, 0
	}
	g := gcd(microPerUnit, epsMicro)
	m, den := microPerUnit/g, epsMicro/g
	g = gcd(sensitivity, den)
	sens, den := sensitivity/g, den/g
	hi, num := bits.Mul64(sens, m)
	if hi != 0 {
		return 0, 0
	}
	return num, den
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
