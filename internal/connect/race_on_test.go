//go:build race

package connect_test

// raceEnabled: under the race detector the end-to-end runs are ten times
// slower, so they run a smaller population; make test runs the full size
// in a second pass without -race.
const raceEnabled = true
