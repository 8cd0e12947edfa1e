package noise

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// uniform returns an integer uniform on [0, m), m > 0, from 8-byte draws of
// r. Draws below 2⁶⁴ mod m are rejected so that every residue has exactly
// the same number of preimages: a plain x % m would favour small values.
func uniform(r io.Reader, m uint64) (uint64, error) {
	threshold := -m % m // 2⁶⁴ mod m, computed in uint64
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("read randomness: %w", err)
		}
		x := binary.LittleEndian.Uint64(b[:])
		if x >= threshold {
			return x % m, nil
		}
	}
}

// bernoulli returns true with probability n/d, 0 ≤ n ≤ d, d > 0.
func bernoulli(r io.Reader, n, d uint64) (bool, error) {
	if n >= d {
		return true, nil
	}
	if n == 0 {
		return false, nil
	}
	u, err := uniform(r, d)
	return u < n, err
}

// bernoulliOverK returns true with probability n/(d·k), 0 ≤ n ≤ d. When d·k
// overflows it draws Bernoulli(n/d) and Bernoulli(1/k), independent, whose
// conjunction has the same probability.
func bernoulliOverK(r io.Reader, n, d, k uint64) (bool, error) {
	if hi, dk := bits.Mul64(d, k); hi == 0 {
		return bernoulli(r, n, dk)
	}
	ok, err := bernoulli(r, 1, k)
	if !ok || err != nil {
		return false, err
	}
	return bernoulli(r, n, d)
}

// bernoulliExp returns true with probability exp(−n/d), d > 0: Algorithm 1
// of Canonne, Kamath & Steinke 2020.
func bernoulliExp(r io.Reader, n, d uint64) (bool, error) {
	// exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ−⌊γ⌋)): one Bernoulli(exp(−1)) per whole
	// unit, then the fractional part.
	for range n / d {
		ok, err := bernoulliExpAtMostOne(r, 1, 1)
		if !ok || err != nil {
			return false, err
		}
	}
	return bernoulliExpAtMostOne(r, n%d, d)
}

// bernoulliExpAtMostOne returns true with probability exp(−n/d) for
// 0 ≤ n/d ≤ 1. It draws A_k ~ Bernoulli(γ/k) for k = 1, 2, … until one is
// false; the first false index K is odd with probability exactly exp(−γ)
// (the alternating series of exp(−γ), term by term).
func bernoulliExpAtMostOne(r io.Reader, n, d uint64) (bool, error) {
	k := uint64(1)
	for {
		a, err := bernoulliOverK(r, n, d, k)
		if err != nil {
			return false, err
		}
		if !a {
			return k%2 == 1, nil
		}
		k++
	}
}
