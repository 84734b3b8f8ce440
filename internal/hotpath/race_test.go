//go:build race

package hotpath_test

// raceEnabled reports whether the race detector is on. It changes escape
// analysis and instruments sync.Pool (which then drops items at random to
// find races), so allocation counts differ from a normal build and the
// assertions are skipped.
const raceEnabled = true
