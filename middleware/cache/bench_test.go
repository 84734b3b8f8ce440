package cache_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/cache"
)

//go:noinline
func lookup(_ context.Context, r req) (resp, error) { return resp{SKU: r.SKU, Stock: 1}, nil }

var sink resp

func bench(b *testing.B, mws []middleware.Middleware, opts ...catalog.Option) {
	cat := catalog.New()
	cat.UseClientSide(mws...)
	h, _ := catalog.RegisterIn(cat, "bench.Get", lookup, opts...)
	ctx := context.Background()
	r := req{SKU: "sku-12345"}
	sink, _ = h.Call(ctx, r)
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = h.Call(ctx, r)
	}
}

// BenchmarkBaseline is a call through an empty catalog: a direct call.
func BenchmarkBaseline(b *testing.B) { bench(b, nil) }

// BenchmarkBaselinePassThrough has one middleware that only calls next.
func BenchmarkBaselinePassThrough(b *testing.B) {
	bench(b, []middleware.Middleware{middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})})
}

// BenchmarkHit is a cache hit, the key encoded with encoding/json.
func BenchmarkHit(b *testing.B) {
	c, _ := cache.New(cache.DefaultConfig())
	bench(b, []middleware.Middleware{c}, catalog.With(cache.TTL.Value(time.Hour)))
}

// BenchmarkHitKeyFunc is a cache hit with a key function.
func BenchmarkHitKeyFunc(b *testing.B) {
	c, _ := cache.New(cache.DefaultConfig())
	key := func(r any) (string, bool) { return r.(*req).SKU, true }
	bench(b, []middleware.Middleware{c}, catalog.With(cache.TTL.Value(time.Hour), cache.KeyFunc.Value(key)))
}

// BenchmarkMiss is a miss that stores the response (distinct requests,
// a store large enough for all).
func BenchmarkMiss(b *testing.B) {
	c, _ := cache.New(cache.Config{MaxEntries: 1 << 30})
	cat := catalog.New()
	cat.UseClientSide(c)
	h, _ := catalog.RegisterIn(cat, "bench.Get", lookup, catalog.With(cache.TTL.Value(time.Hour)))
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink, _ = h.Call(ctx, req{SKU: strconv.Itoa(i)})
	}
}

type listReq struct{ SKUs []string }

// BenchmarkHitJSON is a cache hit whose key is encoded with encoding/json
// (the request has a slice, so it is not flat).
func BenchmarkHitJSON(b *testing.B) {
	c, _ := cache.New(cache.DefaultConfig())
	cat := catalog.New()
	cat.UseClientSide(c)
	h, _ := catalog.RegisterIn(cat, "bench.List", func(_ context.Context, r listReq) (int, error) { return len(r.SKUs), nil },
		catalog.With(cache.TTL.Value(time.Hour)))
	ctx := context.Background()
	r := listReq{SKUs: []string{"sku-12345"}}
	_, _ = h.Call(ctx, r)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h.Call(ctx, r)
	}
}
