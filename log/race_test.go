//go:build race

package log_test

// raceEnabled reports whether the race detector is on: it changes escape
// analysis in crypto/rand, so some allocation counts differ.
const raceEnabled = true
