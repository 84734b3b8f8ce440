// Package redelivery holds the deliveries of an events backend that wait
// for their back-off before they are delivered again, for the backends
// that redeliver in the process (the memory backend and NATS core).
//
// Each waits behind a timer of its own. When the backend stops, [Timers.Stop]
// takes every delivery still waiting, which the backend then
// dead-letters, and refuses to hold any more: a delivery either fires or
// is handed back by Stop, never both and never neither.
package redelivery

import (
	"sync"
	"time"
)

// Timers holds the deliveries (of type T) waiting for a redelivery. Make
// one with [New].
type Timers[T comparable] struct {
	wg *sync.WaitGroup

	mu      sync.Mutex
	stopped bool
	waiting map[T]*time.Timer
}

// New returns an empty Timers that counts in wg each timer whose
// function is to run, until it has run, so that a backend's Close can
// wait for them with the rest of its work.
func New[T comparable](wg *sync.WaitGroup) *Timers[T] {
	return &Timers[T]{wg: wg, waiting: map[T]*time.Timer{}}
}

// After calls fire(x) after d, in a goroutine of its own, unless
// [Timers.Stop] takes x first. It returns false, and holds nothing, once
// Stop has run: the caller then gives up on x itself.
func (t *Timers[T]) After(x T, d time.Duration, fire func(T)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.wg.Add(1)
	t.waiting[x] = time.AfterFunc(d, func() {
		defer t.wg.Done()
		t.mu.Lock()
		_, mine := t.waiting[x]
		delete(t.waiting, x)
		t.mu.Unlock()
		if mine {
			fire(x)
		}
	})
	return true
}

// Stop stops the timers and returns the deliveries that were waiting,
// none of which will fire; from then on After holds nothing. Later calls
// return nothing.
func (t *Timers[T]) Stop() []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	var waiting []T
	for x, timer := range t.waiting {
		delete(t.waiting, x)
		if timer.Stop() {
			t.wg.Done() // its function will not run
		}
		waiting = append(waiting, x)
	}
	return waiting
}
