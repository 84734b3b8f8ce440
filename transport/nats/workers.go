package natstransport

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/wegomesh/wego/transport"
)

// workerIdle is how long a worker waits for a request before it exits
// (within half as long again), so that an idle server holds few
// goroutines.
const workerIdle = 10 * time.Second

// job is one request handed to a worker: a request of a service's
// endpoint (r), or one that came on a per-instance subject (m).
type job struct {
	cmd *transport.Command
	r   micro.Request
	m   *nats.Msg
}

// worker is a long-lived goroutine that serves requests one after the
// other. It keeps the stack that its requests grew, which a goroutine
// started per request would grow again each time, and the scratch space
// of its answers (x).
type worker struct {
	jobs  chan job // capacity 1: handing over a request never blocks
	epoch uint64   // the janitor's tick at which it became idle
	x     exchange
}

// workers runs requests on workers: an idle worker takes each request,
// and a new one starts only when none is idle, up to max at once, so
// that max bounds the requests in flight. The workers idle longest exit
// when they have waited for an idle timeout. Handing over a request
// never waits for a busy worker: when every worker is busy and max are
// running, dispatch refuses it.
type workers struct {
	serve func(w *worker, j job) // runs one request on w
	init  func(w *worker)        // prepares a new worker's scratch space
	max   int

	mu     sync.Mutex
	idle   []*worker // the most recently idle last: the next to work
	alive  int       // idle or busy
	epoch  uint64    // janitor ticks so far
	closed bool

	stop chan struct{}  // closed by close: ends the janitor
	done sync.WaitGroup // the workers and the janitor
}

// newWorkers returns a pool of at most max workers whose workers exit
// after idle (within half as long again) without a request, and starts
// its janitor, which close ends.
func newWorkers(max int, idle time.Duration, init func(*worker), serve func(*worker, job)) *workers {
	p := &workers{serve: serve, init: init, max: max, stop: make(chan struct{})}
	p.done.Add(1)
	go p.janitor(idle / 2)
	return p
}

// dispatch hands j to an idle worker, or to a new one while fewer than
// max are running; it reports false, without waiting, when max workers
// are busy or the pool is closed.
func (p *workers) dispatch(j job) bool {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.jobs <- j
		return true
	}
	if p.closed || p.alive >= p.max {
		p.mu.Unlock()
		return false
	}
	p.alive++
	p.done.Add(1)
	p.mu.Unlock()
	w := &worker{jobs: make(chan job, 1)}
	p.init(w)
	go p.run(w, j)
	return true
}

// run serves j, then the requests w is handed, until the janitor or
// close ends it.
func (p *workers) run(w *worker, j job) {
	defer p.done.Done()
	for {
		p.serve(w, j)
		if !p.park(w) {
			return
		}
		var ok bool
		if j, ok = <-w.jobs; !ok {
			return
		}
	}
}

// park makes w idle, or reports false when the pool is closed: w exits.
func (p *workers) park(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.alive--
		return false
	}
	w.epoch = p.epoch
	p.idle = append(p.idle, w)
	return true
}

// busy returns the number of workers serving a request.
func (p *workers) busy() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.alive - len(p.idle)
}

// janitor ends, at each tick, the workers that have been idle for two
// ticks at least (and three at most).
func (p *workers) janitor(tick time.Duration) {
	defer p.done.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.sweep()
		}
	}
}

// sweep counts a tick and ends the workers that became idle three ticks
// ago or earlier: idle since before the tick before last. The idle
// workers are in the order they became idle, so those come first.
func (p *workers) sweep() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.epoch++
	k := 0
	for k < len(p.idle) && p.epoch-p.idle[k].epoch >= 3 {
		close(p.idle[k].jobs)
		k++
	}
	if k == 0 {
		return
	}
	n := copy(p.idle, p.idle[k:])
	clear(p.idle[n:])
	p.idle = p.idle[:n]
	p.alive -= k
}

// close ends the idle workers and the janitor, makes the busy ones exit
// after their request, and waits until all have exited. dispatch refuses
// everything from then on.
func (p *workers) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for _, w := range p.idle {
		close(w.jobs)
	}
	p.alive -= len(p.idle)
	p.idle = nil
	p.mu.Unlock()
	close(p.stop)
	p.done.Wait()
}
