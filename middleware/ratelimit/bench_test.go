package ratelimit_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/ratelimit"
)

func noop() middleware.Middleware {
	return middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})
}

func benchCall(b *testing.B, mw middleware.Middleware, parallel bool) {
	cat := catalog.New()
	if mw != nil {
		cat.UseServerSide(mw)
	}
	h, err := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, r req) (int, error) { return r.N, nil })
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = h.Call(ctx, req{N: 1})
			}
		})
		return
	}
	for b.Loop() {
		_, _ = h.Call(ctx, req{N: 1})
	}
}

// BenchmarkRateLimit measures admitted and rejected calls against baselines
// measured in the same run: no middleware (a direct call) and one no-op
// middleware (the pooled call path any middleware pays for).
func BenchmarkRateLimit(b *testing.B) {
	must := func(l *ratelimit.Limiter, err error) *ratelimit.Limiter {
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	for _, parallel := range []bool{false, true} {
		suffix := ""
		if parallel {
			suffix = "-parallel"
		}
		b.Run("baseline-empty-chain"+suffix, func(b *testing.B) { benchCall(b, nil, parallel) })
		b.Run("baseline-noop-middleware"+suffix, func(b *testing.B) { benchCall(b, noop(), parallel) })
		b.Run("rate-admitted"+suffix, func(b *testing.B) {
			benchCall(b, must(ratelimit.New(ratelimit.Config{Rate: 1e12, Burst: 1 << 30})), parallel)
		})
		b.Run("bulkhead-admitted"+suffix, func(b *testing.B) {
			benchCall(b, must(ratelimit.New(ratelimit.Config{MaxConcurrent: 1 << 20})), parallel)
		})
		b.Run("both-admitted"+suffix, func(b *testing.B) {
			benchCall(b, must(ratelimit.New(ratelimit.Config{Rate: 1e12, Burst: 1 << 30, MaxConcurrent: 1 << 20})), parallel)
		})
		b.Run("rate-rejected"+suffix, func(b *testing.B) {
			benchCall(b, must(ratelimit.New(ratelimit.Config{Rate: 1e-9, Burst: 1})), parallel)
		})
	}
}
