package faultinject_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/faultinject"
)

func noop() middleware.Middleware {
	return middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})
}

func benchCall(b *testing.B, mw middleware.Middleware) {
	cat := catalog.New()
	if mw != nil {
		cat.UseServerSide(mw)
	}
	h, err := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, r req) (int, error) { return len(r.SKU), nil })
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h.Call(ctx, req{SKU: "a"})
	}
}

// BenchmarkFaultInject measures the injector disabled, enabled with a fault
// that never fires (the cost of the draw), and injecting errors on every
// call, against baselines measured in the same run: no middleware and one
// no-op middleware.
func BenchmarkFaultInject(b *testing.B) {
	mk := func(cfg faultinject.Config) middleware.Middleware {
		in, err := faultinject.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return in
	}
	b.Run("baseline-empty-chain", func(b *testing.B) { benchCall(b, nil) })
	b.Run("baseline-noop-middleware", func(b *testing.B) { benchCall(b, noop()) })
	b.Run("disabled", func(b *testing.B) { benchCall(b, mk(faultinject.DefaultConfig())) })
	b.Run("enabled-not-firing", func(b *testing.B) {
		benchCall(b, mk(faultinject.Config{Enabled: true, Seed: 1, Commands: map[string]faultinject.CommandConfig{"*": {ErrorRate: 1e-12}}}))
	})
	b.Run("error-every-call", func(b *testing.B) {
		benchCall(b, mk(faultinject.Config{Enabled: true, Seed: 1, Commands: map[string]faultinject.CommandConfig{"*": {ErrorRate: 1}}}))
	})
}
