package inproc

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/go-kit/kit/endpoint"

	"github.com/wegomesh/wego/bench/fixture"
	"github.com/wegomesh/wego/catalog"
	wlog "github.com/wegomesh/wego/log"
)

// Sinks keep results alive so that the compiler cannot drop the calls.
var (
	sinkResp fixture.Resp
	sinkAny  any
	sinkErr  error
)

var req = fixture.Req{SKU: "apple-123", Qty: 3}

func withID() context.Context {
	return wlog.ContextWithRequestID(context.Background(), wlog.NewRequestID())
}

// BenchmarkDirect is the floor: a call of the same (not inlined) function.
func BenchmarkDirect(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkResp, sinkErr = fixture.Reserve(ctx, req)
	}
}

// BenchmarkHandleEmpty is the typed handle with both chains empty.
func BenchmarkHandleEmpty(b *testing.B) {
	_, h := fixture.Empty()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkResp, sinkErr = h.Call(ctx, req)
	}
}

// BenchmarkByNameEmpty is Catalog.Call by name with both chains empty,
// the request passed as a pointer (as the documentation asks).
func BenchmarkByNameEmpty(b *testing.B) {
	c, _ := fixture.Empty()
	ctx := context.Background()
	r := req
	var resp fixture.Resp
	b.ReportAllocs()
	for b.Loop() {
		sinkErr = c.Call(ctx, fixture.Name, &r, &resp)
	}
	sinkResp = resp
}

// BenchmarkHandle5x5 is the typed handle with 5 no-op middleware in the
// client chain and 5 in the server chain.
func BenchmarkHandle5x5(b *testing.B) {
	_, h := fixture.NoOpChains(5)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkResp, sinkErr = h.Call(ctx, req)
	}
}

// BenchmarkHandle5 is the typed handle with 5 no-op middleware in all, as
// many as go-kit's figure has: 3 in the client chain and 2 in the server
// chain, so that the call still crosses from one side to the other.
func BenchmarkHandle5(b *testing.B) {
	_, h := fixture.NoOpSplit(3, 2)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkResp, sinkErr = h.Call(ctx, req)
	}
}

// BenchmarkByName5x5 is the call by name through the same chains.
func BenchmarkByName5x5(b *testing.B) {
	c, _ := fixture.NoOpChains(5)
	ctx := context.Background()
	r := req
	var resp fixture.Resp
	b.ReportAllocs()
	for b.Loop() {
		sinkErr = c.Call(ctx, fixture.Name, &r, &resp)
	}
	sinkResp = resp
}

// BenchmarkGoKit5 is a go-kit endpoint behind 5 no-op middleware (go-kit
// has one chain, so 5 is all it runs).
func BenchmarkGoKit5(b *testing.B) {
	e := fixture.KitNoOps(5)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkAny, sinkErr = e(ctx, req)
	}
}

// BenchmarkDefaultChain is the typed handle behind WeGO's full default
// chains (fw.New, default configuration, logs at level error, New Relic
// off), with a request id already in the context and without one.
func BenchmarkDefaultChain(b *testing.B) {
	_, h := fixture.DefaultChain()
	b.Run("id=present", func(b *testing.B) {
		ctx := withID()
		b.ReportAllocs()
		for b.Loop() {
			sinkResp, sinkErr = h.Call(ctx, req)
		}
	})
	b.Run("id=absent", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			sinkResp, sinkErr = h.Call(ctx, req)
		}
	})
	b.Run("gokit", func(b *testing.B) {
		e := fixture.KitChain(zap.New(fixture.DiscardCore()))
		ctx := withID()
		b.ReportAllocs()
		for b.Loop() {
			sinkAny, sinkErr = e(ctx, req)
		}
	})
}

// BenchmarkAudit is one audited call: WeGO's default chains with the
// command marked audit.Auditable and the zap sink on a JSON core writing
// to io.Discard, against one bare zap line of the same fields on the same
// core, and against go-kit chains doing the same work (breaker, recovery,
// logging checked at debug, one audit line).
func BenchmarkAudit(b *testing.B) {
	ctx := withID()
	id, _ := wlog.RequestIDFrom(ctx)
	b.Run("bare-zap-line", func(b *testing.B) {
		l := zap.New(fixture.DiscardCore()).Named("audit")
		b.ReportAllocs()
		for b.Loop() {
			fixture.BareAuditLine(l, &id)
		}
	})
	b.Run("wego", func(b *testing.B) {
		_, h := fixture.AuditChain()
		b.ReportAllocs()
		for b.Loop() {
			sinkResp, sinkErr = h.Call(ctx, req)
		}
	})
	run := func(name string, e endpoint.Endpoint) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkAny, sinkErr = e(ctx, req)
			}
		})
	}
	run("gokit-zap", fixture.KitAuditChain(zap.New(fixture.DiscardCore())))
	run("gokit-kitlog", fixture.KitAuditChainKitLog(zap.New(fixture.DiscardCore())))
}

// BenchmarkParallel runs the main paths from GOMAXPROCS goroutines at
// once: ns/op is wall time per call over all of them.
func BenchmarkParallel(b *testing.B) {
	par := func(name string, f func(ctx context.Context)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					f(ctx)
				}
			})
		})
	}
	par("direct", func(ctx context.Context) { _, _ = fixture.Reserve(ctx, req) })
	_, he := fixture.Empty()
	par("handle-empty", func(ctx context.Context) { _, _ = he.Call(ctx, req) })
	ce, _ := fixture.Empty()
	b.Run("by-name-empty", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			r := req
			var resp fixture.Resp
			for pb.Next() {
				_ = ce.Call(ctx, fixture.Name, &r, &resp)
			}
		})
	})
	_, h5 := fixture.NoOpChains(5)
	par("handle-5x5", func(ctx context.Context) { _, _ = h5.Call(ctx, req) })
	k5 := fixture.KitNoOps(5)
	par("gokit-5", func(ctx context.Context) { _, _ = k5(ctx, req) })
	_, hd := fixture.DefaultChain()
	ctx := withID()
	par("default-chain", func(context.Context) { _, _ = hd.Call(ctx, req) })
}

// Catalogs of 10 and 10,000 commands, built once per process: the
// command called is in both, among others with names of the same shape.
var (
	bigOnce sync.Once
	bigCats map[int]*catalog.Catalog
)

// hot are the names the size benchmark calls in turn, in both catalogs.
var hot = func() []string {
	names := make([]string, 10)
	for i := range names {
		names[i] = cmdName(i * 997)
	}
	return names
}()

func cmdName(i int) string {
	return fmt.Sprintf("service%03d.Operation%02d", i/20, i%20)
}

func catalogs() map[int]*catalog.Catalog {
	bigOnce.Do(func() {
		bigCats = map[int]*catalog.Catalog{}
		for _, n := range []int{10, 10000} {
			c := catalog.New()
			seen := map[string]bool{}
			add := func(name string) {
				if seen[name] {
					return
				}
				seen[name] = true
				if _, err := catalog.RegisterIn(c, name, fixture.Reserve); err != nil {
					panic(err)
				}
			}
			for _, name := range hot {
				add(name)
			}
			for i := 0; len(seen) < n; i++ {
				add(cmdName(i))
			}
			// Composing the chains folds every registration into the
			// lookup table, as an application does when it starts.
			c.SetChains(nil, nil)
			bigCats[n] = c
		}
	})
	return bigCats
}

// BenchmarkCatalogSize calls by name, in turn, 10 commands that both a
// catalog of 10 and one of 10,000 hold: the figure must not grow.
func BenchmarkCatalogSize(b *testing.B) {
	cats := catalogs()
	for _, n := range []int{10, 10000} {
		c := cats[n]
		b.Run(fmt.Sprintf("commands=%d", n), func(b *testing.B) {
			ctx := context.Background()
			r := req
			var resp fixture.Resp
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sinkErr = c.Call(ctx, hot[i], &r, &resp)
				i++
				if i == len(hot) {
					i = 0
				}
			}
			sinkResp = resp
		})
	}
}
