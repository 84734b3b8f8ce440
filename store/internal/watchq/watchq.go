// Package watchq is the queue between a store's writers and one watch's
// goroutine, for the backends whose watches are served in this process
// (memory and bbolt).
//
// A writer pushes each change without blocking: a watch whose receiver
// lets more changes wait than the queue's limit is marked behind instead,
// and its goroutine answers with a reset and the records again, so that
// a slow receiver never holds up a writer and never misses a change
// without being told.
package watchq

import "sync"

// Queue holds a watch's waiting changes. Its zero value is not usable:
// make one with [New].
type Queue[E any] struct {
	limit int
	wake  chan struct{}

	mu     sync.Mutex
	events []E
	behind bool // the queue overflowed: a reset is due
}

// New returns an empty queue that holds up to limit changes.
func New[E any](limit int) *Queue[E] {
	return &Queue[E]{limit: limit, wake: make(chan struct{}, 1)}
}

// Push queues ev, or, when limit changes wait already, drops them and
// marks the queue behind; it then wakes the watch's goroutine. It never
// blocks. A queue marked behind drops every change until [Queue.Take].
func (q *Queue[E]) Push(ev E) {
	q.mu.Lock()
	if !q.behind {
		if len(q.events) >= q.limit {
			q.behind = true
			clear(q.events)
			q.events = q.events[:0]
		} else {
			q.events = append(q.events, ev)
		}
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Wake receives after a [Queue.Push], at most one value for any number
// of them.
func (q *Queue[E]) Wake() <-chan struct{} { return q.wake }

// Take returns the waiting changes, in the order they were pushed, and
// whether the queue was behind, and empties it. The queue keeps buf's
// array for the changes that come next: pass the slice the previous Take
// returned, once done with it, to reuse its array.
func (q *Queue[E]) Take(buf []E) (events []E, behind bool) {
	clear(buf)
	q.mu.Lock()
	events, q.events = q.events, buf[:0]
	behind, q.behind = q.behind, false
	q.mu.Unlock()
	return events, behind
}

// Clear drops the waiting changes and the mark: a snapshot read after
// every change pushed so far holds them all.
func (q *Queue[E]) Clear() {
	q.mu.Lock()
	clear(q.events)
	q.events, q.behind = q.events[:0], false
	q.mu.Unlock()
}
