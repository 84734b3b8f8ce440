//go:build linux || darwin || freebsd

package storebench

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// threadClock returns a clock of the CPU time of the calling thread, and
// a function that unlocks the goroutine from it. On a loaded machine, a
// round's CPU time leaves out the time the thread waited for a core,
// which wall time counts.
func threadClock() (now func() time.Duration, unlock func()) {
	runtime.LockOSThread()
	return func() time.Duration {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
			panic(err)
		}
		return time.Duration(ts.Nano())
	}, runtime.UnlockOSThread
}
