// Package noise samples the noise that protects published statistics.
//
// Non-obvious facts this package is built around:
//
//   - Floating-point Laplace noise leaks (Mironov 2012, "On Significance of
//     the Least Significant Bits for Differential Privacy"): the set of
//     doubles a float sampler can return depends on the true value, so an
//     observer can tell neighbouring inputs apart. This package therefore
//     samples the discrete Laplace distribution exactly, with the algorithms
//     of Canonne, Kamath & Steinke 2020 ("The Discrete Gaussian for
//     Differential Privacy", Algorithms 1 and 2): only integer arithmetic on
//     rationals and uniform integers from the reader. There is no float
//     anywhere on the sampling path; the tests use floats only to check.
//   - The randomness is an [io.Reader] passed to each call, crypto/rand's
//     Reader in production. Tests pass a seeded stream so a statistical
//     test gives the same verdict on every run.
//   - The running time of a sample depends on its value (the sampler loops),
//     which leaks nothing the published value does not already show.
package noise
