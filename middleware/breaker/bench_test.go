package breaker_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/breaker"
)

//go:noinline
func ok(context.Context, req) (resp, error) { return resp{OK: true}, nil }

var sink resp

func bench(b *testing.B, mws ...middleware.Middleware) {
	c := catalog.New()
	c.UseClientSide(mws...)
	h, _ := catalog.RegisterIn(c, "bench.Get", ok)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = h.Call(ctx, req{})
	}
}

// BenchmarkBaseline is a call through an empty catalog: a direct call.
func BenchmarkBaseline(b *testing.B) { bench(b) }

// BenchmarkBaselinePassThrough has one middleware that only calls next:
// the cost of a non-empty chain (the pooled call frame).
func BenchmarkBaselinePassThrough(b *testing.B) {
	bench(b, middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	}))
}

// BenchmarkClosed is a call through a closed breaker.
func BenchmarkClosed(b *testing.B) {
	cfg := breaker.DefaultConfig()
	cfg.Local = true // guard a local command, for the example
	cfg.Local = true // the benchmark's command is local
	br, _ := breaker.New(cfg)
	bench(b, br)
}
