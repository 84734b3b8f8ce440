package retry_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/retry"
)

//go:noinline
func echo(_ context.Context, r req) (resp, error) { return resp(r), nil }

var sink resp

func bench(b *testing.B, mws ...middleware.Middleware) {
	c := catalog.New()
	c.UseClientSide(mws...)
	h, _ := catalog.RegisterIn(c, "bench.Get", echo, catalog.With(retry.Idempotent.Value(true)))
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink, _ = h.Call(ctx, req{N: i})
	}
}

// BenchmarkBaseline is a call through an empty catalog: a direct call.
func BenchmarkBaseline(b *testing.B) { bench(b) }

// BenchmarkBaselinePassThrough has one middleware that only calls next.
func BenchmarkBaselinePassThrough(b *testing.B) {
	bench(b, middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	}))
}

// BenchmarkNoError is a successful call of an idempotent command.
func BenchmarkNoError(b *testing.B) {
	mw, _ := retry.New(retry.DefaultConfig())
	bench(b, mw)
}
