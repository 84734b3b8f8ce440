package ratelimit_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/ratelimit"
)

type req struct{ N int }

// clock is a controllable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func register(t *testing.T, cat *catalog.Catalog, name string, fn func(context.Context, req) (int, error)) *catalog.Command[req, int] {
	t.Helper()
	h, err := catalog.RegisterIn(cat, name, fn)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func count(n *atomic.Int64) func(context.Context, req) (int, error) {
	return func(_ context.Context, r req) (int, error) { n.Add(1); return r.N, nil }
}

func rejected(t *testing.T, err error, limit string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Code() != "resource_exhausted" || e.Status() != 429 {
		t.Fatalf("err = %v, want resource_exhausted (429)", err)
	}
	if got, _ := e.Param("limit"); got != limit {
		t.Fatalf("limit = %q, want %q", got, limit)
	}
}

func TestRate(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	lim, err := ratelimit.New(ratelimit.Config{Rate: 2, Burst: 2}, ratelimit.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(lim)
	var ran atomic.Int64
	h := register(t, cat, "inventory.Reserve", count(&ran))
	ctx := context.Background()
	for i := range 2 {
		if _, err := h.Call(ctx, req{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err = h.Call(ctx, req{})
	rejected(t, err, "rate")
	if ran.Load() != 2 {
		t.Fatalf("the command ran %d times, want 2", ran.Load())
	}
	clk.advance(499 * time.Millisecond)
	_, err = h.Call(ctx, req{})
	rejected(t, err, "rate")
	clk.advance(time.Millisecond) // 500ms at 2/s: one token
	if _, err := h.Call(ctx, req{}); err != nil {
		t.Fatalf("after a token came back: %v", err)
	}
	_, err = h.Call(ctx, req{})
	rejected(t, err, "rate")

	// Rebuilding the chains keeps the bucket: still empty.
	cat.UseServerSide(middleware.Func(func(next middleware.Handler) middleware.Handler { return next }))
	_, err = h.Call(ctx, req{})
	rejected(t, err, "rate")
	clk.advance(10 * time.Second) // the bucket holds at most the burst
	for range 2 {
		if _, err := h.Call(ctx, req{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = h.Call(ctx, req{})
	rejected(t, err, "rate")
}

func TestBulkhead(t *testing.T) {
	t.Parallel()
	lim, _ := ratelimit.New(ratelimit.Config{Commands: map[string]ratelimit.CommandConfig{
		"reports.*": {MaxConcurrent: new(2)},
	}})
	cat := catalog.New()
	cat.UseServerSide(lim)
	release := make(chan struct{})
	entered := make(chan struct{})
	h := register(t, cat, "reports.Build", func(_ context.Context, r req) (int, error) {
		if r.N == 1 {
			entered <- struct{}{}
			<-release
		}
		return r.N, nil
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := h.Call(ctx, req{N: 1})
			errc <- err
		})
		<-entered
	}
	if got := lim.InFlight("reports.Build"); got != 2 {
		t.Fatalf("InFlight = %d, want 2", got)
	}
	start := time.Now()
	_, err := h.Call(ctx, req{N: 2})
	rejected(t, err, "concurrency")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the rejection waited %v", d)
	}
	release <- struct{}{} // one call finishes
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// A slot is free again: a call is admitted (it blocks, so it holds it).
	wg.Go(func() {
		_, err := h.Call(ctx, req{N: 1})
		errc <- err
	})
	<-entered
	_, err = h.Call(ctx, req{N: 2})
	rejected(t, err, "concurrency")
	close(release)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := lim.InFlight("reports.Build"); got != 0 {
		t.Fatalf("InFlight = %d after every call returned", got)
	}
	if _, err := h.Call(ctx, req{N: 2}); err != nil {
		t.Fatal(err)
	}
}

func TestBulkheadUnderLoad(t *testing.T) {
	t.Parallel()
	const limit = 3
	lim, _ := ratelimit.New(ratelimit.Config{MaxConcurrent: limit, Rate: 1e9})
	cat := catalog.New()
	cat.UseClientSide(lim) // usable on the client side too
	var cur, peak atomic.Int64
	h := register(t, cat, "a.B", func(context.Context, req) (int, error) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		cur.Add(-1)
		return 0, nil
	})
	var wg sync.WaitGroup
	var ok, rej atomic.Int64
	for range 32 {
		wg.Go(func() {
			for range 20 {
				if _, err := h.Call(context.Background(), req{}); err == nil {
					ok.Add(1)
				} else if errs.KindOf(err) == errs.KindResourceExhausted {
					rej.Add(1)
				} else {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if peak.Load() > limit {
		t.Fatalf("peak concurrency %d above the limit %d", peak.Load(), limit)
	}
	if ok.Load() == 0 || rej.Load() == 0 {
		t.Fatalf("admitted %d, rejected %d: want both", ok.Load(), rej.Load())
	}
}

func TestPanicReleasesSlot(t *testing.T) {
	t.Parallel()
	lim, _ := ratelimit.New(ratelimit.Config{MaxConcurrent: 1})
	spec := &middleware.Spec{Name: "a.B"}
	h := lim.Wrap(spec, func(context.Context, *middleware.Call) error { panic("boom") })
	func() {
		defer func() { _ = recover() }()
		_ = h(context.Background(), &middleware.Call{Spec: spec})
	}()
	if n := lim.InFlight("a.B"); n != 0 {
		t.Fatalf("InFlight = %d after a panic", n)
	}
}

func terminal(context.Context, *middleware.Call) error { return nil }

func TestOverridesAndWrapReturnsNext(t *testing.T) {
	t.Parallel()
	lim, err := ratelimit.New(ratelimit.Config{
		Rate: 10,
		Commands: map[string]ratelimit.CommandConfig{
			"health.*":          {Rate: new(0.0), MaxConcurrent: new(0)},
			"inventory.*":       {Rate: new(1.5), MaxConcurrent: new(4)},
			"inventory.reserve": {Burst: new(7)}, // lower case, as the config loader gives it
			"*":                 {MaxConcurrent: new(9)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	type eff struct {
		rate         float64
		burst, concu int
	}
	for name, want := range map[string]eff{
		"orders.Place":      {10, 10, 9},
		"health.Check":      {0, 0, 0},
		"inventory.Stock":   {1.5, 2, 4},
		"inventory.Reserve": {1.5, 7, 4},
	} {
		r, b, c := lim.Effective(name)
		if got := (eff{r, b, c}); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	if lim.Wrap(&middleware.Spec{Name: "health.Check"}, terminal) != nil {
		t.Error("a command without limits must get nothing added (nil)")
	}
	zero, _ := ratelimit.New(ratelimit.DefaultConfig())
	if zero.Wrap(&middleware.Spec{Name: "a.B"}, terminal) != nil {
		t.Error("the default configuration must limit nothing")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg ratelimit.Config
		key string
	}{
		{ratelimit.Config{Rate: -1}, "middleware.ratelimit.rate"},
		{ratelimit.Config{Burst: -1}, "middleware.ratelimit.burst"},
		{ratelimit.Config{MaxConcurrent: -2}, "middleware.ratelimit.max_concurrent"},
		{ratelimit.Config{Commands: map[string]ratelimit.CommandConfig{"x.": {}}}, `middleware.ratelimit.commands["x."]`},
		{ratelimit.Config{Commands: map[string]ratelimit.CommandConfig{"a.B": {Burst: new(-1)}}}, `middleware.ratelimit.commands["a.B"].burst`},
	} {
		_, err := ratelimit.New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.key+":") {
			t.Errorf("%+v: err = %v, want the key %s", tt.cfg, err, tt.key)
		}
	}
}

func TestRejectionDoesNotAllocate(t *testing.T) {
	lim, _ := ratelimit.New(ratelimit.Config{Rate: 1, Burst: 1, MaxConcurrent: 5})
	cat := catalog.New()
	cat.UseServerSide(lim)
	var ran atomic.Int64
	h := register(t, cat, "a.B", count(&ran))
	ctx := context.Background()
	_, _ = h.Call(ctx, req{})
	if n := testing.AllocsPerRun(100, func() {
		if _, err := h.Call(ctx, req{}); err == nil {
			t.Fatal("admitted")
		}
	}); n != 0 {
		t.Fatalf("a rejected call allocates %v times", n)
	}
}
