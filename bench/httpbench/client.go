package httpbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/wegomesh/wego/bench/fixture"
	"github.com/wegomesh/wego/catalog"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// CallFunc calls the command remotely.
type CallFunc func(ctx context.Context, in fixture.Req) (fixture.Resp, error)

// BareClient is what a hand-written caller does with net/http and
// encoding/json, with the same pool size as WeGO's client.
func BareClient(addr string) (CallFunc, func()) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}}
	url := "http://" + addr + fixture.Path
	return func(ctx context.Context, in fixture.Req) (fixture.Resp, error) {
		var out fixture.Resp
		data, err := json.Marshal(in)
		if err != nil {
			return out, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
		if err != nil {
			return out, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return out, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return out, fmt.Errorf("status %d", resp.StatusCode)
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		_, _ = io.Copy(io.Discard, resp.Body)
		return out, err
	}, hc.CloseIdleConnections
}

// RouteClient calls the command through a WeGO remote route
// (httptransport.NewClient().Route) from a catalog with empty chains.
func RouteClient(addr string) (CallFunc, func(), error) {
	cat := catalog.New()
	cmd, err := catalog.DeclareIn[fixture.Req, fixture.Resp](cat, fixture.Name)
	if err != nil {
		return nil, nil, err
	}
	c := httptransport.NewClient()
	if err := cat.SetRoute(fixture.Name, c.Route("http://"+addr)); err != nil {
		return nil, nil, err
	}
	return cmd.Call, c.CloseIdleConnections, nil
}

// ClientRound is one measurement of a client.
type ClientRound struct {
	Calls     int
	PerCall   time.Duration
	P50, P99  time.Duration // serial, per call
	AllocsOp  float64
	BytesOp   float64
	NewConns  int64 // during the serial and the parallel calls
	ParCalls  int
	ParConns  int64
	ParPerOp  time.Duration
	ParAllocs float64
	// The server's allocations per call, serial and parallel (the server's
	// process counts them, less what reading them costs).
	SrvAllocs, ParSrvAllocs float64
	// ParCPU is the CPU time per call of the caller's process and the
	// server's together, in parallel.
	ParCPU time.Duration
	// ParSrvCPU is the server's share of ParCPU.
	ParSrvCPU time.Duration
}

// RunClient makes n serial calls, then n calls from par goroutines, after
// a warm-up that opens par connections, and counts the connections the
// server accepted meanwhile: keep-alive means none.
func RunClient(srv *Server, call CallFunc, n, par int) (ClientRound, error) {
	ctx := context.Background()
	in := fixture.Req{SKU: "apple-123", Qty: 3}
	check := func() error {
		out, err := call(ctx, in)
		if err != nil {
			return err
		}
		if out != fixture.Want {
			return fmt.Errorf("got %+v", out)
		}
		return nil
	}
	// Warm up: par connections at once, then serial calls.
	if err := parallel(par*100, par, check); err != nil {
		return ClientRound{}, err
	}
	for range 200 {
		if err := check(); err != nil {
			return ClientRound{}, err
		}
	}
	var r ClientRound
	overhead, err := srv.statsOverhead()
	if err != nil {
		return r, err
	}
	srvAllocs := func(a, b Stats, calls int) float64 {
		d := b.Mallocs - a.Mallocs
		if d < overhead {
			return 0
		}
		return float64(d-overhead) / float64(calls)
	}
	st0, err := srv.Stats()
	if err != nil {
		return r, err
	}
	lat := make([]time.Duration, n)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for i := range n {
		t := time.Now()
		if _, err := call(ctx, in); err != nil {
			return r, err
		}
		lat[i] = time.Since(t)
	}
	r.PerCall = time.Since(start) / time.Duration(n)
	runtime.ReadMemStats(&m1)
	r.Calls = n
	r.AllocsOp = float64(m1.Mallocs-m0.Mallocs) / float64(n)
	r.BytesOp = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n)
	st1, err := srv.Stats()
	if err != nil {
		return r, err
	}
	r.NewConns = st1.Conns - st0.Conns
	r.SrvAllocs = srvAllocs(st0, st1, n)
	slices.Sort(lat)
	r.P50, r.P99 = lat[n/2], lat[n*99/100]

	c0 := CPUTime()
	runtime.ReadMemStats(&m0)
	start = time.Now()
	if err := parallel(n, par, func() error { _, err := call(ctx, in); return err }); err != nil {
		return r, err
	}
	r.ParPerOp = time.Since(start) / time.Duration(n)
	runtime.ReadMemStats(&m1)
	c1 := CPUTime()
	r.ParCalls = n
	r.ParAllocs = float64(m1.Mallocs-m0.Mallocs) / float64(n)
	st2, err := srv.Stats()
	if err != nil {
		return r, err
	}
	r.ParConns = st2.Conns - st1.Conns
	r.ParSrvAllocs = srvAllocs(st1, st2, n)
	r.ParCPU = (c1 - c0 + st2.CPU - st1.CPU) / time.Duration(n)
	r.ParSrvCPU = (st2.CPU - st1.CPU) / time.Duration(n)
	return r, nil
}

// parallel makes n calls of f from par goroutines.
func parallel(n, par int, f func() error) error {
	var wg sync.WaitGroup
	errs := make(chan error, par)
	per := n / par
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if err := f(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
