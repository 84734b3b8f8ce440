package natsbench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/wegomesh/wego/bench/fixture"
	"github.com/wegomesh/wego/bench/httpbench"
)

var (
	sinkResp fixture.Resp
	sinkErr  error
)

// names are the pairs: the bare caller and responder, the WeGO route and
// server, the mixed pairs that tell the caller's share from the server's,
// and the bare pair with WeGO's headers both ways.
var names = []string{"bare", "wego", "bare-to-wego-server", "wego-route-to-bare", "bare-with-headers"}

// setup starts a NATS server, both responders and every caller in this
// process, each responder and caller on a TCP connection of its own.
func setup(b *testing.B) map[string]CallFunc {
	b.Helper()
	ctx := context.Background()
	broker, err := Broker(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = broker.Close(context.Background()) })
	url := broker.ClientURL()
	for _, serve := range []func() (func(), error){
		func() (func(), error) { return ServeWeGO(ctx, url) },
		func() (func(), error) { return ServeBare(url) },
	} {
		stop, err := serve()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(stop)
	}
	calls := map[string]CallFunc{}
	for name, caller := range map[string]func() (CallFunc, func(), error){
		"bare":                func() (CallFunc, func(), error) { return BareCaller(url) },
		"wego":                func() (CallFunc, func(), error) { return RouteCaller(ctx, url) },
		"bare-to-wego-server": func() (CallFunc, func(), error) { return BareCallerTo(url, fixture.Name) },
		"wego-route-to-bare":  func() (CallFunc, func(), error) { return RouteCallerTo(ctx, url, BareSubject) },
		"bare-with-headers":   func() (CallFunc, func(), error) { return HeadersCaller(url) },
	} {
		call, closeCaller, err := caller()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(closeCaller)
		if err := Check(ctx, call); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		calls[name] = call
	}
	return calls
}

var req = fixture.Req{SKU: "apple-123", Qty: 3}

// BenchmarkSerial is one call at a time. allocs/op counts the caller, the
// NATS server and the responder together, as they share the process;
// cpu-ns/op is the process's CPU time per call, which other work on the
// machine disturbs less than the wall time.
func BenchmarkSerial(b *testing.B) {
	calls := setup(b)
	for _, name := range names {
		call := calls[name]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			cpu := httpbench.CPUTime()
			for b.Loop() {
				sinkResp, sinkErr = call(ctx, req)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkParallel is the same from at least 16 goroutines.
func BenchmarkParallel(b *testing.B) {
	calls := setup(b)
	procs := runtime.GOMAXPROCS(0)
	for _, name := range names {
		call := calls[name]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			b.SetParallelism((16 + procs - 1) / procs)
			b.ReportAllocs()
			cpu := httpbench.CPUTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := call(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports the process's CPU time per call since since.
func reportCPU(b *testing.B, since time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(httpbench.CPUTime()-since)/float64(b.N), "cpu-ns/op")
	}
}
