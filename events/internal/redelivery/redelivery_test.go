package redelivery

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFires(t *testing.T) {
	var wg sync.WaitGroup
	timers := New[int](&wg)
	fired := make(chan int, 2)
	for i := range 2 {
		if !timers.After(i, time.Millisecond, func(x int) { fired <- x }) {
			t.Fatal("After refused before Stop")
		}
	}
	wg.Wait()
	if got := len(fired); got != 2 {
		t.Fatalf("%d fired, want 2", got)
	}
	if left := timers.Stop(); len(left) != 0 {
		t.Fatalf("Stop after both fired returned %v", left)
	}
}

func TestStopTakesWhatWaits(t *testing.T) {
	var wg sync.WaitGroup
	timers := New[int](&wg)
	var fired atomic.Int32
	for i := range 3 {
		timers.After(i, time.Hour, func(int) { fired.Add(1) })
	}
	left := timers.Stop()
	if len(left) != 3 {
		t.Fatalf("Stop returned %v, want the 3 waiting", left)
	}
	wg.Wait() // the stopped timers count as done
	if timers.After(9, time.Millisecond, func(int) { fired.Add(1) }) {
		t.Fatal("After held a delivery after Stop")
	}
	if fired.Load() != 0 {
		t.Fatalf("%d fired after Stop", fired.Load())
	}
}

// TestFireOrStop races Stop with timers that are due: each delivery is
// either fired or returned by Stop, exactly once.
func TestFireOrStop(t *testing.T) {
	for range 50 {
		var wg sync.WaitGroup
		timers := New[int](&wg)
		const n = 100
		var mu sync.Mutex
		seen := map[int]int{}
		for i := range n {
			timers.After(i, time.Duration(i%3)*time.Microsecond, func(x int) {
				mu.Lock()
				seen[x]++
				mu.Unlock()
			})
		}
		left := timers.Stop()
		wg.Wait()
		for _, x := range left {
			seen[x]++
		}
		for i := range n {
			if seen[i] != 1 {
				t.Fatalf("delivery %d: fired or returned %d times, want once", i, seen[i])
			}
		}
	}
}
