package newrelic_test

import (
	"context"
	"testing"

	nr "github.com/newrelic/go-agent/v3/newrelic"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/newrelic"
)

func noop() middleware.Middleware {
	return middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})
}

func benchCall(b *testing.B, mws ...middleware.Middleware) {
	cat := catalog.New()
	cat.UseServerSide(mws...)
	h, err := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, r reserveReq) (int, error) { return r.Qty, nil })
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h.Call(ctx, reserveReq{Qty: 1})
	}
}

// BenchmarkOff measures the middleware with no license key (off) against
// baselines measured in the same run: no middleware, and one no-op
// middleware (the pooled path that any middleware in the chain brings).
// Off, Wrap adds nothing (nil), so "off-with-noop" must match
// "baseline-noop".
func BenchmarkOff(b *testing.B) {
	off, err := newrelic.New(newrelic.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline-empty-chain", func(b *testing.B) { benchCall(b) })
	b.Run("off", func(b *testing.B) { benchCall(b, off) })
	b.Run("baseline-noop", func(b *testing.B) { benchCall(b, noop()) })
	b.Run("off-with-noop", func(b *testing.B) { benchCall(b, noop(), off) })
}

// BenchmarkOn measures a call recorded as a transaction by an agent that is
// not connected (the agent's own cost dominates).
func BenchmarkOn(b *testing.B) {
	on, err := newrelic.New(onConfig(), newrelic.AgentOptions(func(c *nr.Config) { c.Enabled = false }))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("on", func(b *testing.B) { benchCall(b, on) })
}
