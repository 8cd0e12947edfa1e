package synth

import (
	"math/rand/v2"
	"strconv"
	"time"
)

const day = 24 * time.Hour

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// weighted returns an index drawn with the given weights.
func weighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// chance is true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// between draws an integer in [lo, hi].
func between(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + r.Int64N(hi-lo+1)
}

// dateBetween draws a day in [lo, hi]; lo when the range is empty.
func dateBetween(r *rand.Rand, lo, hi time.Time) time.Time {
	lo, hi = midnight(lo), midnight(hi)
	if !hi.After(lo) {
		return lo
	}
	return lo.AddDate(0, 0, r.IntN(int(hi.Sub(lo)/day)+1))
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// yearsBetween is the age at to of someone born on from.
func yearsBetween(from, to time.Time) int {
	y := to.Year() - from.Year()
	if to.Month() < from.Month() || to.Month() == from.Month() && to.Day() < from.Day() {
		y--
	}
	return y
}

func latest(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.After(m) {
			m = t
		}
	}
	return m
}

func ymd(t time.Time) string { return t.Format(time.DateOnly) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
