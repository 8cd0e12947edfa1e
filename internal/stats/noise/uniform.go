package noise

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// source draws from a reader into one buffer: a buffer on the stack
// escapes through the io.Reader interface, which cost an allocation per
// draw, seven a sample.
type source struct {
	r   io.Reader
	buf [8]byte
}

// uniform returns an integer uniform on [0, m), m > 0, from 8-byte draws.
// Draws below 2⁶⁴ mod m are rejected so that every residue has exactly the
// same number of preimages: a plain x % m would favour small values.
func (s *source) uniform(m uint64) (uint64, error) {
	threshold := -m % m // 2⁶⁴ mod m, computed in uint64
	for {
		if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
			return 0, fmt.Errorf("read randomness: %w", err)
		}
		x := binary.LittleEndian.Uint64(s.buf[:])
		if x >= threshold {
			return x % m, nil
		}
	}
}

// bernoulli returns true with probability n/d, 0 ≤ n ≤ d, d > 0.
func (s *source) bernoulli(n, d uint64) (bool, error) {
	if n >= d {
		return true, nil
	}
	if n == 0 {
		return false, nil
	}
	u, err := s.uniform(d)
	return u < n, err
}

// bernoulliOverK returns true with probability n/(d·k), 0 ≤ n ≤ d. When d·k
// overflows it draws Bernoulli(n/d) and Bernoulli(1/k), independent, whose
// conjunction has the same probability.
func (s *source) bernoulliOverK(n, d, k uint64) (bool, error) {
	if hi, dk := bits.Mul64(d, k); hi == 0 {
		return s.bernoulli(n, dk)
	}
	ok, err := s.bernoulli(1, k)
	if !ok || err != nil {
		return false, err
	}
	return s.bernoulli(n, d)
}

// bernoulliExp returns true with probability exp(−n/d), d > 0: Algorithm 1
// of Canonne, Kamath & Steinke 2020.
func (s *source) bernoulliExp(n, d uint64) (bool, error) {
	// exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ−⌊γ⌋)): one Bernoulli(exp(−1)) per whole
	// unit, then the fractional part.
	for range n / d {
		ok, err := s.bernoulliExpAtMostOne(1, 1)
		if !ok || err != nil {
			return false, err
		}
	}
	return s.bernoulliExpAtMostOne(n%d, d)
}

// bernoulliExpAtMostOne returns true with probability exp(−n/d) for
// 0 ≤ n/d ≤ 1. It draws A_k ~ Bernoulli(γ/k) for k = 1, 2, … until one is
// false; the first false index K is odd with probability exactly exp(−γ)
// (the alternating series of exp(−γ), term by term).
func (s *source) bernoulliExpAtMostOne(n, d uint64) (bool, error) {
	k := uint64(1)
	for {
		a, err := s.bernoulliOverK(n, d, k)
		if err != nil {
			return false, err
		}
		if !a {
			return k%2 == 1, nil
		}
		k++
	}
}
