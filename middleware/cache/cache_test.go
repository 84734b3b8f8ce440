package cache_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/cache"
)

type req struct {
	SKU  string
	Fail string `json:",omitempty"`
}
type resp struct {
	SKU   string
	Stock int
}

// product counts its calls and fails with the kind named in Fail.
func product(calls *atomic.Int64) func(context.Context, req) (resp, error) {
	return func(_ context.Context, r req) (resp, error) {
		n := calls.Add(1)
		switch r.Fail {
		case "not_found":
			return resp{}, errs.NotFound()
		case "internal":
			return resp{}, errs.Internal()
		}
		return resp{SKU: r.SKU, Stock: int(n)}, nil
	}
}

func setup(t testing.TB, cfg cache.Config, opts ...catalog.Option) (*cache.Cache, *catalog.Command[req, resp], *atomic.Int64) {
	t.Helper()
	c, err := cache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseClientSide(c)
	var calls atomic.Int64
	h, err := catalog.RegisterIn(cat, "stock.Get", product(&calls), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, h, &calls
}

func ttl(d time.Duration) catalog.Option { return catalog.With(cache.TTL.Value(d)) }

func call(t testing.TB, h *catalog.Command[req, resp], r req) (resp, error) {
	t.Helper()
	return h.Call(context.Background(), r)
}

func TestHitDoesNotCallTheCommand(t *testing.T) {
	t.Parallel()
	_, h, calls := setup(t, cache.DefaultConfig(), ttl(time.Minute))
	first, err := call(t, h, req{SKU: "a"})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		got, err := call(t, h, req{SKU: "a"})
		if err != nil || got != first {
			t.Fatalf("hit = %+v, %v; want %+v", got, err, first)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls, want 1", calls.Load())
	}
	if got, _ := call(t, h, req{SKU: "b"}); got.SKU != "b" || calls.Load() != 2 {
		t.Fatalf("another request: %+v after %d calls", got, calls.Load())
	}
}

func TestByNameCallsGetCopies(t *testing.T) {
	t.Parallel()
	_, h, _ := setup(t, cache.DefaultConfig(), ttl(time.Minute))
	cat := h.Catalog()
	var r1 resp
	if err := cat.Call(context.Background(), "stock.Get", &req{SKU: "a"}, &r1); err != nil {
		t.Fatal(err)
	}
	r1.Stock = 999 // the caller's copy, not the cache's
	var r2 resp
	if err := cat.Call(context.Background(), "stock.Get", req{SKU: "a"}, &r2); err != nil {
		t.Fatal(err)
	}
	if r2.Stock != 1 {
		t.Fatalf("second call got %+v: the cached value was changed through a caller's response", r2)
	}
}

func TestConcurrentMissesCallOnce(t *testing.T) {
	t.Parallel()
	c, err := cache.New(cache.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseClientSide(c)
	var calls atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	h, _ := catalog.RegisterIn(cat, "stock.Get", func(_ context.Context, r req) (resp, error) {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		return resp{SKU: r.SKU, Stock: 7}, nil
	}, ttl(time.Minute))

	const n = 20
	var wg sync.WaitGroup
	results := make(chan resp, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := h.Call(context.Background(), req{SKU: "a"})
			if err != nil {
				t.Error(err)
			}
			results <- got
		}()
		if i == 0 {
			<-started // the first call is running the command
		}
	}
	time.Sleep(20 * time.Millisecond) // let the others reach the flight
	close(release)
	wg.Wait()
	close(results)
	for got := range results {
		if got != (resp{SKU: "a", Stock: 7}) {
			t.Errorf("got %+v", got)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls for %d concurrent misses, want 1", calls.Load(), n)
	}
}

func TestWaitingCallHonorsItsContext(t *testing.T) {
	t.Parallel()
	c, _ := cache.New(cache.DefaultConfig())
	cat := catalog.New()
	cat.UseClientSide(c)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h, _ := catalog.RegisterIn(cat, "stock.Get", func(_ context.Context, r req) (resp, error) {
		once.Do(func() { close(started) })
		<-release
		return resp{SKU: r.SKU}, nil
	}, ttl(time.Minute))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.Call(context.Background(), req{SKU: "a"})
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := h.Call(ctx, req{SKU: "a"})
	if errs.CodeOf(err) != "deadline_exceeded" {
		t.Errorf("waiting call: %v, want deadline_exceeded", err)
	}
	close(release)
	<-done
}

func TestLeaderCanceledFollowersRunThemselves(t *testing.T) {
	t.Parallel()
	c, _ := cache.New(cache.DefaultConfig())
	cat := catalog.New()
	cat.UseClientSide(c)
	var calls atomic.Int64
	started := make(chan struct{})
	h, _ := catalog.RegisterIn(cat, "stock.Get", func(ctx context.Context, r req) (resp, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-ctx.Done()
			return resp{}, ctx.Err()
		}
		return resp{SKU: r.SKU, Stock: 1}, nil
	}, ttl(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	leader := make(chan error)
	go func() {
		_, err := h.Call(ctx, req{SKU: "a"})
		leader <- err
	}()
	<-started
	follower := make(chan resp)
	go func() {
		got, err := h.Call(context.Background(), req{SKU: "a"})
		if err != nil {
			t.Error(err)
		}
		follower <- got
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v", err)
	}
	if got := <-follower; got.Stock != 1 {
		t.Errorf("follower got %+v", got)
	}
}

func TestTTLExpiry(t *testing.T) {
	t.Parallel()
	_, h, calls := setup(t, cache.DefaultConfig(), ttl(30*time.Millisecond))
	_, _ = call(t, h, req{SKU: "a"})
	_, _ = call(t, h, req{SKU: "a"})
	if calls.Load() != 1 {
		t.Fatalf("%d calls before expiry", calls.Load())
	}
	time.Sleep(60 * time.Millisecond)
	if got, _ := call(t, h, req{SKU: "a"}); calls.Load() != 2 || got.Stock != 2 {
		t.Fatalf("after the TTL: %+v, %d calls; want a fresh call", got, calls.Load())
	}
}

func TestInvalidate(t *testing.T) {
	t.Parallel()
	c, h, calls := setup(t, cache.DefaultConfig(), ttl(time.Minute))
	for _, sku := range []string{"a", "b"} {
		_, _ = call(t, h, req{SKU: sku})
	}
	c.Invalidate("stock.Get", req{SKU: "a"})
	_, _ = call(t, h, req{SKU: "a"})
	_, _ = call(t, h, req{SKU: "b"})
	if calls.Load() != 3 {
		t.Fatalf("%d calls, want 3: only a was invalidated", calls.Load())
	}
	c.Invalidate("stock.Get", &req{SKU: "b"}) // a pointer works too
	_, _ = call(t, h, req{SKU: "b"})
	if calls.Load() != 4 {
		t.Fatalf("%d calls, want 4", calls.Load())
	}
	c.InvalidateCommand("stock.Get")
	if c.Len("stock.Get") != 0 {
		t.Fatalf("Len = %d after InvalidateCommand", c.Len("stock.Get"))
	}
	_, _ = call(t, h, req{SKU: "a"})
	_, _ = call(t, h, req{SKU: "b"})
	if calls.Load() != 6 {
		t.Fatalf("%d calls, want 6", calls.Load())
	}
	c.Invalidate("unknown.Command", req{}) // no-op
	c.InvalidateCommand("unknown.Command")
}

func TestInvalidationDuringACallDropsItsResponse(t *testing.T) {
	t.Parallel()
	c, _ := cache.New(cache.DefaultConfig())
	cat := catalog.New()
	cat.UseClientSide(c)
	var calls atomic.Int64
	h, _ := catalog.RegisterIn(cat, "stock.Get", func(_ context.Context, r req) (resp, error) {
		if calls.Add(1) == 1 {
			c.InvalidateCommand("stock.Get") // the data changes while we read it
		}
		return resp{SKU: r.SKU}, nil
	}, ttl(time.Minute))
	_, _ = call(t, h, req{SKU: "a"})
	_, _ = call(t, h, req{SKU: "a"})
	if calls.Load() != 2 {
		t.Fatalf("%d calls, want 2: a response read before an invalidation was cached", calls.Load())
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	_, h, calls := setup(t, cache.DefaultConfig(), ttl(time.Minute))
	for range 3 {
		if _, err := call(t, h, req{SKU: "a", Fail: "not_found"}); errs.CodeOf(err) != "not_found" {
			t.Fatal(err)
		}
	}
	if calls.Load() != 3 {
		t.Fatalf("errors cached by default: %d calls", calls.Load())
	}

	cfg := cache.DefaultConfig()
	cfg.CacheErrors = true
	_, h, calls = setup(t, cfg, ttl(time.Minute))
	for range 3 {
		if _, err := call(t, h, req{SKU: "a", Fail: "not_found"}); errs.CodeOf(err) != "not_found" {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("cache_errors: not_found called %d times, want 1", calls.Load())
	}
	for range 3 {
		_, _ = call(t, h, req{SKU: "b", Fail: "internal"})
	}
	if calls.Load() != 4 {
		t.Fatalf("cache_errors: server faults were cached (%d calls)", calls.Load())
	}
}

func TestErrorTTL(t *testing.T) {
	t.Parallel()
	cfg := cache.Config{CacheErrors: true, ErrorTTL: 20 * time.Millisecond}
	_, h, calls := setup(t, cfg, ttl(time.Minute))
	_, _ = call(t, h, req{SKU: "a", Fail: "not_found"})
	_, _ = call(t, h, req{SKU: "a", Fail: "not_found"})
	time.Sleep(50 * time.Millisecond)
	_, _ = call(t, h, req{SKU: "a", Fail: "not_found"})
	if calls.Load() != 2 {
		t.Fatalf("%d calls, want 2", calls.Load())
	}
}

func TestMaxEntries(t *testing.T) {
	t.Parallel()
	c, h, calls := setup(t, cache.Config{MaxEntries: 3}, ttl(time.Minute))
	for i := range 10 {
		_, _ = call(t, h, req{SKU: strconv.Itoa(i)})
	}
	if n := c.Len("stock.Get"); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	for i := range 3 { // the first three stay cached
		_, _ = call(t, h, req{SKU: strconv.Itoa(i)})
	}
	if calls.Load() != 10 {
		t.Fatalf("%d calls, want 10", calls.Load())
	}
}

func TestMaxEntriesMakesRoomAsEntriesExpire(t *testing.T) {
	t.Parallel()
	cfg := cache.Config{MaxEntries: 2, CleanupInterval: time.Millisecond}
	c, h, _ := setup(t, cfg, ttl(20*time.Millisecond))
	_, _ = call(t, h, req{SKU: "a"})
	_, _ = call(t, h, req{SKU: "b"})
	time.Sleep(40 * time.Millisecond)
	_, _ = call(t, h, req{SKU: "c"})
	if n := c.Len("stock.Get"); n != 1 {
		t.Fatalf("Len = %d, want 1 (the expired entries removed, c stored)", n)
	}
}

func TestKeyFunc(t *testing.T) {
	t.Parallel()
	byUpper := func(r any) (string, bool) {
		q := r.(*req)
		return strings.ToUpper(q.SKU), q.SKU != "nocache"
	}
	_, h, calls := setup(t, cache.DefaultConfig(), ttl(time.Minute), catalog.With(cache.KeyFunc.Value(byUpper)))
	_, _ = call(t, h, req{SKU: "a"})
	_, _ = call(t, h, req{SKU: "A"})
	if calls.Load() != 1 {
		t.Fatalf("%d calls, want 1: the key function maps a and A together", calls.Load())
	}
	_, _ = call(t, h, req{SKU: "nocache"})
	_, _ = call(t, h, req{SKU: "nocache"})
	if calls.Load() != 3 {
		t.Fatalf("%d calls, want 3: the key function left nocache out", calls.Load())
	}
}

func TestFor(t *testing.T) {
	t.Parallel()
	cfg := cache.DefaultConfig()
	cfg.Commands = map[string]cache.CommandConfig{
		"stock.*":   {TTL: time.Second, MaxEntries: 5},
		"stock.put": {Disable: true}, // lower case, as the config loader gives it
		"stock.Get": {TTL: time.Minute},
		"billing.*": {Disable: true},
		"*":         {MaxEntries: 7},
	}
	marked := middleware.NewAttributes(cache.TTL.Value(time.Hour))
	tests := []struct {
		name  string
		attrs middleware.Attributes
		ttl   time.Duration
	}{
		{"stock.Get", marked, time.Minute},
		{"stock.List", middleware.Attributes{}, time.Second},
		{"stock.Put", marked, 0},
		{"billing.Invoice", marked, 0},
		{"orders.List", marked, time.Hour},
		{"orders.Place", middleware.Attributes{}, 0},
	}
	for _, tt := range tests {
		p, ok := cfg.For(&middleware.Spec{Name: tt.name, Attributes: tt.attrs})
		if p.TTL != tt.ttl || ok != (tt.ttl > 0) {
			t.Errorf("For(%s) = %+v, %v; want ttl %s", tt.name, p, ok, tt.ttl)
		}
	}
	if p, _ := cfg.For(&middleware.Spec{Name: "stock.List"}); p.MaxEntries != 5 || p.ErrorTTL != time.Second {
		t.Errorf("For(stock.List) = %+v: want max 5, error TTL capped at the TTL", p)
	}
	if p, _ := cfg.For(&middleware.Spec{Name: "orders.List", Attributes: marked}); p.MaxEntries != 7 {
		t.Errorf("For(orders.List) = %+v: want max 7 from \"*\"", p)
	}
	c, _ := cache.New(cfg)
	next := func(context.Context, *middleware.Call) error { return nil }
	spec := &middleware.Spec{Name: "orders.Place", Request: reflect.TypeFor[req](), Response: reflect.TypeFor[resp]()}
	if h := c.Wrap(spec, next); h != nil {
		t.Error("Wrap added a handler for a command that is not cached; want nil")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  cache.Config
		want string
	}{
		{cache.Config{MaxEntries: -1}, "middleware.cache.max_entries: must not be negative"},
		{cache.Config{ErrorTTL: -1}, "middleware.cache.error_ttl: must not be negative"},
		{cache.Config{CleanupInterval: -1}, "middleware.cache.cleanup_interval: must not be negative"},
		{cache.Config{Commands: map[string]cache.CommandConfig{"inventory.Stock": {TTL: -1}}},
			`middleware.cache.commands["inventory.Stock"].ttl: must not be negative`},
		{cache.Config{Commands: map[string]cache.CommandConfig{"": {}}},
			`middleware.cache.commands[""]: not a command pattern`},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "config: "+strings.TrimPrefix(tt.want, cache.Section+".")) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
		if _, err := cache.New(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "config: "+tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if err := cache.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func TestHitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful with -race")
	}
	_, h, _ := setup(t, cache.DefaultConfig(), ttl(time.Minute))
	ctx := context.Background()
	_, _ = h.Call(ctx, req{SKU: "a"})
	if n := testing.AllocsPerRun(1000, func() { _, _ = h.Call(ctx, req{SKU: "a"}) }); n != 0 {
		t.Errorf("hit: %v allocations per call, want 0", n)
	}
}

func TestFlatKeysDoNotCollide(t *testing.T) {
	t.Parallel()
	type pair struct {
		A, B   string
		N      int8
		Trace  string `json:"-"` // not part of the key, as with encoding/json
		hidden int
	}
	c, _ := cache.New(cache.DefaultConfig())
	cat := catalog.New()
	cat.UseClientSide(c)
	var calls atomic.Int64
	h, _ := catalog.RegisterIn(cat, "pair.Get", func(_ context.Context, p pair) (string, error) {
		calls.Add(1)
		return p.A + "|" + p.B, nil
	}, ttl(time.Minute))
	ctx := context.Background()
	for _, p := range []pair{{A: "ab"}, {A: "a", B: "b"}, {B: "ab"}, {A: "ab", N: 1}, {A: "ab", N: -1}} {
		_, _ = h.Call(ctx, p)
	}
	if calls.Load() != 5 {
		t.Fatalf("%d calls for 5 different requests", calls.Load())
	}
	_, _ = h.Call(ctx, pair{A: "ab", Trace: "x", hidden: 3})
	if calls.Load() != 5 {
		t.Fatal("a json:\"-\" or unexported field changed the key")
	}
}
