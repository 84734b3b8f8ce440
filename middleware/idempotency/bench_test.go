package idempotency_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/idempotency"
)

//go:noinline
func benchPlace(_ context.Context, r placeReq) (order, error) {
	return order{ID: "o-1", Qty: r.Qty}, nil
}

var benchSink order

// bench calls a command that accepts keys through mws, the server chain,
// with ctx.
func bench(b *testing.B, ctx context.Context, mws ...middleware.Middleware) {
	cat := catalog.New()
	cat.UseServerSide(mws...)
	h, err := catalog.RegisterIn(cat, "orders.Place", benchPlace, catalog.With(idempotency.Enabled.Value(true)))
	if err != nil {
		b.Fatal(err)
	}
	r := placeReq{SKU: "apple", Qty: 2}
	benchSink, _ = h.Call(ctx, r)
	b.ReportAllocs()
	for b.Loop() {
		benchSink, _ = h.Call(ctx, r)
	}
}

// benchCtx is a context as a transport makes it: a request id and the
// command's name.
func benchCtx() context.Context {
	return log.ContextWithCommand(context.Background(), log.NewRequestID(), "orders.Place")
}

var passThrough = middleware.Func(func(next middleware.Handler) middleware.Handler {
	return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
})

// BenchmarkBaseline is the chain without the middleware: one middleware
// that only calls next, so that both take the catalog's chained path.
func BenchmarkBaseline(b *testing.B) { bench(b, benchCtx(), passThrough) }

// BenchmarkNoKey is a call without a key of a command that accepts keys.
func BenchmarkNoKey(b *testing.B) {
	m, _ := idempotency.New(idempotency.DefaultConfig())
	bench(b, benchCtx(), m)
}

// BenchmarkHit is a retry: the outcome replayed from the memory store.
func BenchmarkHit(b *testing.B) {
	m, _ := idempotency.New(idempotency.DefaultConfig())
	bench(b, idempotency.WithKey(benchCtx(), "8e03978e-40d5-43e8-bc93-6894a57f9324"), m)
}

// BenchmarkFirst is a first attempt: a new key each call, its outcome
// stored (the store evicts the oldest once full).
func BenchmarkFirst(b *testing.B) {
	m, _ := idempotency.New(idempotency.DefaultConfig())
	cat := catalog.New()
	cat.UseServerSide(m)
	h, _ := catalog.RegisterIn(cat, "orders.Place", benchPlace, catalog.With(idempotency.Enabled.Value(true)))
	base := benchCtx()
	r := placeReq{SKU: "apple", Qty: 2}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		benchSink, _ = h.Call(idempotency.WithKey(base, strconv.Itoa(i)), r)
	}
}
