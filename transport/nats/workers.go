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
	wake  chan struct{} // capacity 1: waking a worker never blocks
	epoch uint64        // the janitor's tick at which it became idle
	x     exchange
}

// workers runs requests on long-lived workers. dispatch queues a request
// and makes sure that a worker that is not busy comes for it: it wakes
// the most recently idle worker (so that a light load keeps few of them
// in use and the others reach their idle timeout), or starts a new one
// when none is idle. A request never waits for a busy worker, and
// dispatch never waits at all: it refuses a request when max requests
// are queued or running already.
//
// A worker that finishes a request takes the next queued one, if any,
// before it waits: the answers of requests that arrived together then
// leave together, in one write of the connection, as they do from a
// subscription that serves its messages itself.
type workers struct {
	serve func(w *worker, j job) // runs one request on w
	init  func(w *worker)        // prepares a new worker's scratch space
	max   int

	mu      sync.Mutex
	queue   []job     // FIFO: queue[head:]
	head    int       //
	running int       // requests being served
	waking  int       // workers woken or started that have not looked at the queue yet
	idle    []*worker // the most recently idle last
	alive   int       // workers: running, waking or idle
	epoch   uint64    // janitor ticks so far
	closed  bool

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

// queued returns the number of queued requests, with p.mu held.
func (p *workers) queued() int { return len(p.queue) - p.head }

// dispatch queues j for a worker that is not busy, waking or starting
// one if none is on its way already; it reports false, without waiting,
// when max requests are queued or running, or the pool is closed.
func (p *workers) dispatch(j job) bool {
	p.mu.Lock()
	if p.closed || p.queued()+p.running >= p.max {
		p.mu.Unlock()
		return false
	}
	if p.head > 0 && len(p.queue) == cap(p.queue) {
		p.queue = p.queue[:copy(p.queue, p.queue[p.head:])]
		clear(p.queue[len(p.queue):cap(p.queue)])
		p.head = 0
	}
	p.queue = append(p.queue, j)
	if p.waking >= p.queued() {
		p.mu.Unlock() // enough workers are on their way
		return true
	}
	// A worker for j: queued + running <= max, so one is idle, or fewer
	// than max are alive.
	p.waking++
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.wake <- struct{}{}
		return true
	}
	p.alive++
	p.done.Add(1)
	p.mu.Unlock()
	w := &worker{wake: make(chan struct{}, 1)}
	p.init(w)
	go p.run(w)
	return true
}

// run serves the queued requests, waiting while there are none, until
// the janitor or close ends it.
func (p *workers) run(w *worker) {
	defer p.done.Done()
	served := false
	for {
		j, ok, exit := p.next(w, served)
		if exit {
			return
		}
		if served = ok; ok {
			p.serve(w, j)
			continue
		}
		if _, open := <-w.wake; !open {
			return
		}
	}
}

// next returns the next queued request for w, which has just served one
// (served) or was woken or started. When there is none, w becomes idle,
// or, when the pool is closed, exits.
func (p *workers) next(w *worker, served bool) (j job, ok, exit bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if served {
		p.running--
	} else {
		p.waking--
	}
	if p.queued() > 0 {
		j = p.queue[p.head]
		p.queue[p.head] = job{}
		if p.head++; p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
		}
		p.running++
		return j, true, false
	}
	if p.closed {
		p.alive--
		return job{}, false, true
	}
	w.epoch = p.epoch
	p.idle = append(p.idle, w)
	return job{}, false, false
}

// busy returns the number of requests queued or running.
func (p *workers) busy() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued() + p.running
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
		close(p.idle[k].wake)
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

// close ends the idle workers and the janitor, lets the others serve
// what is queued and exit, and waits until all have exited. dispatch
// refuses everything from then on.
func (p *workers) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for _, w := range p.idle {
		close(w.wake)
	}
	p.alive -= len(p.idle)
	p.idle = nil
	p.mu.Unlock()
	close(p.stop)
	p.done.Wait()
}
