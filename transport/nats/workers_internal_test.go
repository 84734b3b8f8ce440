package natstransport

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pool returns workers whose serve runs f, closed at the end of the test.
func pool(t *testing.T, max int, idle time.Duration, f func(j job)) *workers {
	t.Helper()
	p := newWorkers(max, idle, func(*worker) {}, func(_ *worker, j job) { f(j) })
	t.Cleanup(p.close)
	return p
}

// counts returns the workers alive and idle.
func (p *workers) counts() (alive, idle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.alive, len(p.idle)
}

// Requests one after the other run on the same worker: a new one starts
// only when none is idle.
func TestWorkersReuse(t *testing.T) {
	var wg sync.WaitGroup
	p := pool(t, 8, time.Hour, func(job) { wg.Done() })
	for range 100 {
		wg.Add(1)
		if !p.dispatch(job{}) {
			t.Fatal("a request was refused with no other in flight")
		}
		wg.Wait()
		for p.busy() != 0 { // the worker parks after its request
			time.Sleep(time.Millisecond)
		}
	}
	if alive, _ := p.counts(); alive != 1 {
		t.Errorf("%d workers for requests one at a time, want 1", alive)
	}
}

// With max requests running, one more is refused at once: dispatch never
// waits for a busy worker.
func TestWorkersBound(t *testing.T) {
	hold, started := make(chan struct{}), make(chan struct{}, 8)
	p := pool(t, 4, time.Hour, func(job) { started <- struct{}{}; <-hold })
	for i := range 4 {
		if !p.dispatch(job{}) {
			t.Fatalf("request %d of 4 refused", i+1)
		}
	}
	for range 4 {
		<-started
	}
	began := time.Now()
	if p.dispatch(job{}) {
		t.Fatal("a fifth request was accepted with max 4 busy")
	}
	if d := time.Since(began); d > 100*time.Millisecond {
		t.Errorf("refusing took %v", d)
	}
	close(hold)
	for p.busy() != 0 {
		time.Sleep(time.Millisecond)
	}
	if !p.dispatch(job{}) {
		t.Error("a request was refused once the workers were idle")
	}
}

// A request never waits for a busy worker: while one request blocks its
// worker, the next runs on another.
func TestWorkersNoWaitBehindBusy(t *testing.T) {
	hold, done := make(chan struct{}), make(chan struct{}, 1)
	defer close(hold)
	var first atomic.Bool
	first.Store(true)
	p := pool(t, 4, time.Hour, func(job) {
		if first.CompareAndSwap(true, false) {
			<-hold
			return
		}
		done <- struct{}{}
	})
	p.dispatch(job{})
	for p.busy() == 0 || func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.running == 0 }() {
		time.Sleep(time.Millisecond)
	}
	p.dispatch(job{})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the second request waited for the busy worker")
	}
}

// Idle workers exit after the idle timeout, the one idle longest first:
// after a burst, a trickle of requests keeps one worker and the others
// exit.
func TestWorkersIdleExit(t *testing.T) {
	const idle = 100 * time.Millisecond
	hold := make(chan struct{})
	var burst atomic.Bool
	burst.Store(true)
	var started sync.WaitGroup
	p := pool(t, 16, idle, func(job) {
		if burst.Load() {
			started.Done()
			<-hold
		}
	})
	started.Add(8)
	for range 8 {
		p.dispatch(job{})
	}
	started.Wait()
	burst.Store(false)
	close(hold)
	// A request every idle/10, for 3 idle timeouts: the most recently
	// idle worker takes each, and the others exit.
	for end := time.Now().Add(3 * idle); time.Now().Before(end); time.Sleep(idle / 10) {
		if !p.dispatch(job{}) {
			t.Fatal("a request was refused")
		}
	}
	if alive, _ := p.counts(); alive > 3 {
		t.Errorf("%d workers alive after a burst of 8 and then one request at a time, want 1 or 2", alive)
	}
	deadline := time.Now().Add(10 * idle)
	for {
		alive, _ := p.counts()
		if alive == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers alive long after the last request", alive)
		}
		time.Sleep(idle / 10)
	}
}

// close waits for the requests running, and then refuses every request.
func TestWorkersClose(t *testing.T) {
	hold, started := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	p := newWorkers(4, time.Hour, func(*worker) {}, func(*worker, job) {
		close(started)
		<-hold
		finished.Store(true)
	})
	p.dispatch(job{})
	<-started
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(hold)
	}()
	p.close()
	if !finished.Load() {
		t.Error("close returned before the request running had finished")
	}
	if p.dispatch(job{}) {
		t.Error("a closed pool accepted a request")
	}
	p.close() // a second close does nothing
}
