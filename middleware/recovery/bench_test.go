package recovery_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/recovery"
)

func echo(_ context.Context, s string) (string, error) { return s, nil }

// BenchmarkRecovery measures a call through a catalog whose server chain
// holds only recovery, beside a call through an empty catalog and one
// through a pass-through middleware (the catalog's pooled path).
func BenchmarkRecovery(b *testing.B) {
	ctx := log.ContextWithRequestID(context.Background(), log.NewRequestID())

	base := catalog.New()
	direct, _ := catalog.RegisterIn(base, "bench.Echo", echo)
	b.Run("baseline=empty-catalog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = direct.Call(ctx, "x")
		}
	})

	pc := catalog.New()
	pc.UseServerSide(middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	}))
	pass, _ := catalog.RegisterIn(pc, "bench.Echo", echo)
	b.Run("baseline=passthrough-middleware", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = pass.Call(ctx, "x")
		}
	})

	c := catalog.New()
	mw, _ := recovery.New(recovery.DefaultConfig())
	c.UseServerSide(mw)
	cmd, _ := catalog.RegisterIn(c, "bench.Echo", echo)
	b.Run("recovery/no-panic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cmd.Call(ctx, "x")
		}
	})
}
