//go:build !(linux || darwin || freebsd)

package storebench

import "time"

// threadClock falls back to wall time where the thread's CPU time is not
// at hand.
func threadClock() (now func() time.Duration, unlock func()) {
	start := time.Now()
	return func() time.Duration { return time.Since(start) }, func() {}
}
