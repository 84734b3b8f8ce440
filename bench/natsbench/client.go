package natsbench

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/wegomesh/wego/bench/httpbench"
)

// Round is one measurement of a caller and its responder.
type Round struct {
	Calls     int
	PerCall   time.Duration // serial: wall time over the calls
	P50, P99  time.Duration // serial: per call
	AllocsOp  float64       // serial: the caller's allocations per call
	BytesOp   float64
	SrvAllocs float64 // serial: the responder's allocations per call

	ParCalls     int
	Par          int           // callers
	ParPerOp     time.Duration // parallel: wall time over the calls
	ParAllocs    float64
	ParSrvAllocs float64
	// ParCPU is the CPU time per call of the caller's process, the NATS
	// server's and the responder's together, in parallel: what bounds the
	// throughput when they share the cores.
	ParCPU time.Duration
	// ParSrvCPU is the responder's share of ParCPU.
	ParSrvCPU time.Duration
}

// CallsPerSec is the parallel throughput.
func (r Round) CallsPerSec() float64 { return float64(time.Second) / float64(r.ParPerOp) }

// RunClient makes n serial calls, then n calls from par goroutines, after
// a warm-up at that concurrency, and counts the caller's allocations (this
// process's) and the responder's (its process's); in parallel, the CPU
// time of the caller, the responder and the NATS server (broker).
func RunClient(broker, responder *Process, call CallFunc, n, par int) (Round, error) {
	ctx := context.Background()
	check := func() error { return Check(ctx, call) }
	if err := parallel(par*100, par, check); err != nil {
		return Round{}, err
	}
	for range 200 {
		if err := check(); err != nil {
			return Round{}, err
		}
	}
	r := Round{Calls: n, ParCalls: n / par * par, Par: par}
	lat := make([]time.Duration, n)
	var m0, m1 runtime.MemStats
	runtime.GC()
	s0, err := responder.Mallocs()
	if err != nil {
		return r, err
	}
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for i := range n {
		t := time.Now()
		if err := check(); err != nil {
			return r, err
		}
		lat[i] = time.Since(t)
	}
	r.PerCall = time.Since(start) / time.Duration(n)
	runtime.ReadMemStats(&m1)
	s1, err := responder.Since(s0)
	if err != nil {
		return r, err
	}
	r.AllocsOp = float64(m1.Mallocs-m0.Mallocs) / float64(n)
	r.BytesOp = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n)
	r.SrvAllocs = float64(s1) / float64(n)
	slices.Sort(lat)
	r.P50, r.P99 = lat[n/2], lat[n*99/100]

	b0, err := broker.Stats()
	if err != nil {
		return r, err
	}
	st0, err := responder.Stats()
	if err != nil {
		return r, err
	}
	c0 := httpbench.CPUTime()
	runtime.ReadMemStats(&m0)
	start = time.Now()
	if err := parallel(r.ParCalls, par, check); err != nil {
		return r, err
	}
	r.ParPerOp = time.Since(start) / time.Duration(r.ParCalls)
	runtime.ReadMemStats(&m1)
	c1 := httpbench.CPUTime()
	st1, err := responder.Stats()
	if err != nil {
		return r, err
	}
	b1, err := broker.Stats()
	if err != nil {
		return r, err
	}
	r.ParAllocs = float64(m1.Mallocs-m0.Mallocs) / float64(r.ParCalls)
	r.ParSrvAllocs = float64(st1.Mallocs-st0.Mallocs-responder.overhead) / float64(r.ParCalls)
	r.ParCPU = (c1 - c0 + st1.CPU - st0.CPU + b1.CPU - b0.CPU) / time.Duration(r.ParCalls)
	r.ParSrvCPU = (st1.CPU - st0.CPU) / time.Duration(r.ParCalls)
	return r, nil
}

// parallel makes n calls of f from par goroutines.
func parallel(n, par int, f func() error) error {
	var wg sync.WaitGroup
	errs := make(chan error, par)
	per := n / par
	for range par {
		wg.Go(func() {
			for range per {
				if err := f(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
