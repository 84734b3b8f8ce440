package validate_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/validate"
)

func noop() middleware.Middleware {
	return middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})
}

func benchCall(b *testing.B, mw middleware.Middleware, req reserveReq) {
	cat := catalog.New()
	if mw != nil {
		cat.UseServerSide(mw)
	}
	h, err := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, r reserveReq) (reserveResp, error) {
		return reserveResp{Left: r.Qty}, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h.Call(ctx, req)
	}
}

// BenchmarkValidate compares a valid and an invalid call with the middleware
// against baselines measured in the same run: the command with no middleware
// (a direct call) and with one no-op middleware (the pooled call path every
// middleware pays for).
func BenchmarkValidate(b *testing.B) {
	valid := reserveReq{SKU: "apple", Qty: 2}
	mw, _ := validate.New(validate.DefaultConfig())
	b.Run("baseline-empty-chain", func(b *testing.B) { benchCall(b, nil, valid) })
	b.Run("baseline-noop-middleware", func(b *testing.B) { benchCall(b, noop(), valid) })
	b.Run("valid", func(b *testing.B) { benchCall(b, mw, valid) })
	b.Run("invalid", func(b *testing.B) { benchCall(b, mw, reserveReq{Qty: 0}) })
}

// BenchmarkChecker measures the rule set alone on a valid request.
func BenchmarkChecker(b *testing.B) {
	r := reserveReq{SKU: "apple", Qty: 2, Note: "ok"}
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil {
			b.Fatal("invalid")
		}
	}
}
