//go:build !race

package auth_test

// raceEnabled reports whether the race detector is on: it changes escape
// analysis (in crypto/rand among others), so allocation counts differ.
const raceEnabled = false
