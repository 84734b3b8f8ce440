package storebench

import (
	"os"
	"slices"
	"testing"
	"time"
)

// envOrder is the environment variable that reverses the order in which
// the benchmarks run the sides of a pair when it is "reverse": store
// first, then bare. Command benchreport sets it on every other
// repetition of the suite, so that neither side always runs first.
const envOrder = "WEGO_BENCH_ORDER"

// reversed says whether envOrder asks for the pairs in reverse.
var reversed = os.Getenv(envOrder) == "reverse"

// side is one sub-benchmark of a pair.
type side struct {
	name string
	fn   func(*testing.B)
}

// runSides runs the sides as sub-benchmarks of b, in order, or in
// reverse order when envOrder says so.
func runSides(b *testing.B, sides ...side) {
	if reversed {
		sides = slices.Clone(sides)
		slices.Reverse(sides)
	}
	for _, s := range sides {
		b.Run(s.name, s.fn)
	}
}

// loop runs op with b.Loop, fails b if op fails, and reports its
// allocations; when cpu is
// true, it also reports the CPU time of the calling thread per operation
// as the metric "cpu-ns/op", which leaves out the time the thread waited
// for a core on a loaded machine. Only operations that run wholly on the
// calling goroutine (bbolt, SQLite) measure their cost that way: an
// operation that waits for a server blocks its thread.
func loop(b *testing.B, cpu bool, op func() error) {
	b.ReportAllocs()
	if !cpu {
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	clock, unlock := threadClock()
	defer unlock()
	start := clock()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(clock()-start)/float64(b.N), "cpu-ns/op")
}

// allocsAtMost3More checks the target on allocations, which the
// machine's load does not move: an operation through the store makes at
// most 3 allocations more than the same operation with the bare library.
// The times are the benchmarks' and command benchreport's business.
func allocsAtMost3More(t *testing.T, name string, bare, st func()) {
	t.Helper()
	bareAllocs := testing.AllocsPerRun(100, bare)
	storeAllocs := testing.AllocsPerRun(100, st)
	t.Logf("%s: bare %.0f allocs, store %.0f allocs (%+.0f)", name, bareAllocs, storeAllocs, storeAllocs-bareAllocs)
	if storeAllocs > bareAllocs+3 {
		t.Errorf("%s: the store makes %.0f allocations, the bare library %.0f: want at most 3 more", name, storeAllocs, bareAllocs)
	}
}

// inTurns calls bare then wego n times, in turns, and returns the median
// time of each.
func inTurns(n int, bare, wego func()) (mb, mw time.Duration) {
	tb, tw := make([]time.Duration, n), make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		bare()
		mid := time.Now()
		wego()
		tb[i], tw[i] = mid.Sub(start), time.Since(mid)
	}
	slices.Sort(tb)
	slices.Sort(tw)
	return tb[n/2], tw[n/2]
}
