package requestid_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/requestid"
)

func echo(_ context.Context, s string) (string, error) { return s, nil }

// BenchmarkRequestID measures a typed call through a catalog whose server
// chain holds only this middleware, beside the baseline of the same call
// through an empty catalog.
func BenchmarkRequestID(b *testing.B) {
	bg := context.Background()
	withID := log.ContextWithRequestID(bg, log.NewRequestID())

	base := catalog.New()
	direct, _ := catalog.RegisterIn(base, "bench.Echo", echo)
	b.Run("baseline=empty-catalog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = direct.Call(bg, "x")
		}
	})

	// A no-op middleware, so that the catalog takes the same pooled path.
	noop := middleware.Func(func(next middleware.Handler) middleware.Handler { return next })
	nc := catalog.New()
	nc.UseServerSide(noop, middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	}))
	pooled, _ := catalog.RegisterIn(nc, "bench.Echo", echo)
	b.Run("baseline=chain-of-one-passthrough", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = pooled.Call(bg, "x")
		}
	})

	c := catalog.New()
	mw, _ := requestid.New(requestid.DefaultConfig())
	c.UseServerSide(mw)
	cmd, _ := catalog.RegisterIn(c, "bench.Echo", echo)
	b.Run("id=present", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cmd.Call(withID, "x")
		}
	})
	b.Run("id=absent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cmd.Call(bg, "x")
		}
	})

	h := mw.Wrap(&middleware.Spec{Name: "bench.Echo"}, func(context.Context, *middleware.Call) error { return nil })
	call := &middleware.Call{}
	b.Run("handler-only/id=present", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h(withID, call)
		}
	})
	b.Run("handler-only/id=absent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h(bg, call)
		}
	})
}
