package timeout_test

import (
	"context"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware/timeout"
)

//go:noinline
func echo(_ context.Context, r req) (resp, error) { return resp(r), nil }

var sink resp

func bench(b *testing.B, cfg *timeout.Config, ctx context.Context) {
	c := catalog.New()
	if cfg != nil {
		mw, err := timeout.New(*cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.UseClientSide(mw)
	}
	h, _ := catalog.RegisterIn(c, "bench.Echo", echo)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink, _ = h.Call(ctx, req{N: i})
	}
}

// BenchmarkBaseline is a call through an empty catalog: a direct call.
func BenchmarkBaseline(b *testing.B) { bench(b, nil, context.Background()) }

// BenchmarkApplied creates a context with the command's timeout per call.
func BenchmarkApplied(b *testing.B) {
	bench(b, &timeout.Config{Default: time.Second}, context.Background())
}

// BenchmarkCallerSooner: the caller's deadline is sooner, no context is made.
func BenchmarkCallerSooner(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bench(b, &timeout.Config{Default: time.Hour}, ctx)
}

// BenchmarkNoTimeout: no timeout applies, the chain is empty.
func BenchmarkNoTimeout(b *testing.B) { bench(b, &timeout.Config{}, context.Background()) }

func benchServer(b *testing.B, mw bool, complete bool, ctx context.Context) {
	c := catalog.New()
	if mw {
		d, err := timeout.Deadline(timeout.DefaultDeadlineConfig())
		if err != nil {
			b.Fatal(err)
		}
		c.UseServerSide(d)
	}
	var opts []catalog.Option
	if complete {
		opts = append(opts, catalog.With(timeout.RunToCompletion(time.Second)))
	}
	h, _ := catalog.RegisterIn(c, "bench.Echo", echo, opts...)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink, _ = h.Call(ctx, req{N: i})
	}
}

// BenchmarkServerBaseline is a call through an empty catalog, for the
// server-side benchmarks below.
func BenchmarkServerBaseline(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchServer(b, false, false, ctx)
}

// BenchmarkServerRead: the deadline middleware checks that a read's caller
// is still there, and passes its context on.
func BenchmarkServerRead(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchServer(b, true, false, ctx)
}

// BenchmarkServerRunToCompletion: the deadline middleware detaches a
// command that runs to completion and gives it its budget.
func BenchmarkServerRunToCompletion(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchServer(b, true, true, ctx)
}
