//go:build race

package natstransport_test

// raceEnabled is true under the race detector, whose cost per call drowns
// the latencies that the measurements compare.
const raceEnabled = true
