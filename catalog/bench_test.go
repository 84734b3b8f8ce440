package catalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
)

type benchReq struct{ A, B int }
type benchResp struct{ Sum int }

//go:noinline
func add(_ context.Context, r benchReq) (benchResp, error) { return benchResp{Sum: r.A + r.B}, nil }

func noop() middleware.Middleware {
	return middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})
}

var sink benchResp

func BenchmarkDirect(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sink, _ = add(ctx, benchReq{A: i, B: 1})
	}
}

func BenchmarkHandleEmpty(b *testing.B) {
	c := catalog.New()
	h, _ := catalog.RegisterIn(c, "bench.Add", add)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sink, _ = h.Call(ctx, benchReq{A: i, B: 1})
	}
}

func BenchmarkByNameEmpty(b *testing.B) {
	c := catalog.New()
	catalog.RegisterIn(c, "bench.Add", add)
	ctx := context.Background()
	req := benchReq{B: 1}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req.A = i
		_ = c.Call(ctx, "bench.Add", &req, &sink)
	}
}

// BenchmarkByNameBuilt calls by a name made at run time (as one read from
// a file or a request would be), which the catalog finds by content.
func BenchmarkByNameBuilt(b *testing.B) {
	c := catalog.New()
	catalog.RegisterIn(c, "bench.Add", add)
	ctx := context.Background()
	req := benchReq{B: 1}
	name := strings.Clone("bench.Add")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req.A = i
		_ = c.Call(ctx, name, &req, &sink)
	}
}

func BenchmarkHandle5x5(b *testing.B) {
	c := catalog.New()
	h, _ := catalog.RegisterIn(c, "bench.Add", add)
	for range 5 {
		c.UseServerSide(noop())
		c.UseClientSide(noop())
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sink, _ = h.Call(ctx, benchReq{A: i, B: 1})
	}
}
