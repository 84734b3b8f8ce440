package retry_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/retry"
)

type req struct{ N int }
type resp struct{ N int }

// fakeClock's Sleep returns at once and, when advance is set, moves Now by
// the time slept. It records the waits.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	advance bool
	sleeps  []time.Duration
}

func newClock(advance bool) *fakeClock { return &fakeClock{now: time.Now(), advance: advance} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if c.advance {
		c.now = c.now.Add(d)
	}
	return nil
}

// failing fails with err its first n calls (all of them when n < 0).
func failing(calls *atomic.Int64, n int64, err error) func(context.Context, req) (resp, error) {
	return func(_ context.Context, r req) (resp, error) {
		if k := calls.Add(1); n < 0 || k <= n {
			return resp{}, err
		}
		return resp(r), nil
	}
}

func setup(t *testing.T, cfg retry.Config, clock retry.Clock, fn func(context.Context, req) (resp, error), opts ...catalog.Option) *catalog.Command[req, resp] {
	t.Helper()
	mw, err := retry.New(cfg, retry.WithClock(clock), retry.WithRand(rand.New(rand.NewPCG(1, 2))))
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.New()
	c.UseClientSide(mw)
	h, err := catalog.RegisterIn(c, "stock.Get", fn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var idempotent = catalog.With(retry.Idempotent.Value(true))

func TestRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	clock := newClock(true)
	h := setup(t, retry.DefaultConfig(), clock, failing(&calls, 2, errs.Unavailable()), idempotent)
	got, err := h.Call(context.Background(), req{N: 5})
	if err != nil || got.N != 5 {
		t.Fatalf("Call = %v, %v; want success on the third attempt", got, err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3", calls.Load())
	}
	// Full jitter: wait n is in [0, base·2^(n-1)].
	for i, d := range clock.sleeps {
		if ceil := retry.DefaultBaseDelay << i; d < 0 || d > ceil {
			t.Errorf("wait %d = %s, want in [0, %s]", i+1, d, ceil)
		}
	}
	if len(clock.sleeps) != 2 {
		t.Errorf("%d waits, want 2", len(clock.sleeps))
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	h := setup(t, retry.Config{MaxAttempts: 4}, newClock(true), failing(&calls, -1, errs.Unavailable()), idempotent)
	_, err := h.Call(context.Background(), req{})
	if errs.CodeOf(err) != "unavailable" || calls.Load() != 4 {
		t.Fatalf("err %v after %d attempts; want unavailable after 4", err, calls.Load())
	}
}

func TestNonIdempotentNeverRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	h := setup(t, retry.DefaultConfig(), newClock(true), failing(&calls, -1, errs.Unavailable()))
	for range 10 {
		_, _ = h.Call(context.Background(), req{})
	}
	if calls.Load() != 10 {
		t.Fatalf("%d attempts for 10 calls of a command not marked idempotent", calls.Load())
	}
	mw, _ := retry.New(retry.DefaultConfig())
	next := func(context.Context, *middleware.Call) error { return nil }
	if h := mw.Wrap(&middleware.Spec{Name: "stock.Put"}, next); h != nil {
		t.Fatal("Wrap added a handler for a command that is not idempotent; want nil")
	}
}

func TestOnlyTransientErrors(t *testing.T) {
	t.Parallel()
	for _, e := range []error{errs.Internal(), errs.DeadlineExceeded(), errs.NotFound(), errs.InvalidArgument(),
		context.Canceled, errs.Define("circuit_open", errs.KindUnavailable, "The service is unavailable; try again later.").New()} {
		var calls atomic.Int64
		h := setup(t, retry.DefaultConfig(), newClock(true), failing(&calls, -1, e), idempotent)
		_, _ = h.Call(context.Background(), req{})
		if calls.Load() != 1 {
			t.Errorf("%v: %d attempts, want 1", e, calls.Load())
		}
	}
}

func TestNeverWaitsPastTheDeadline(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	clock := newClock(true)
	cfg := retry.Config{MaxAttempts: 100, BaseDelay: 40 * time.Millisecond, MaxDelay: time.Second}
	h := setup(t, cfg, clock, failing(&calls, -1, errs.Unavailable()), idempotent)
	ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(300*time.Millisecond))
	defer cancel()
	dl, _ := ctx.Deadline()
	_, err := h.Call(ctx, req{})
	if errs.CodeOf(err) != "unavailable" {
		t.Fatalf("err = %v, want the last error", err)
	}
	if clock.Now().After(dl) {
		t.Fatalf("waited until %s past the deadline", clock.Now().Sub(dl))
	}
	if calls.Load() < 2 || calls.Load() >= 100 {
		t.Fatalf("%d attempts", calls.Load())
	}
}

func TestStopsWhenCanceled(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	fn := func(context.Context, req) (resp, error) {
		calls.Add(1)
		cancel() // the caller gives up while the first attempt runs
		return resp{}, errs.Unavailable()
	}
	// The real clock: Sleep must return when ctx is done.
	mw, _ := retry.New(retry.Config{BaseDelay: time.Hour, MaxDelay: time.Hour})
	c := catalog.New()
	c.UseClientSide(mw)
	h, _ := catalog.RegisterIn(c, "stock.Get", fn, idempotent)
	start := time.Now()
	_, err := h.Call(ctx, req{})
	if errs.CodeOf(err) != "unavailable" || calls.Load() != 1 || time.Since(start) > time.Second {
		t.Fatalf("err %v after %d attempts in %s", err, calls.Load(), time.Since(start))
	}
}

func TestBudgetBoundsAnOutage(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	clock := newClock(false) // time stands still: no floor refill
	cfg := retry.DefaultConfig()
	h := setup(t, cfg, clock, failing(&calls, -1, errs.Unavailable()), idempotent)
	const n = 1000
	for range n {
		_, _ = h.Call(context.Background(), req{})
	}
	limit := int64(n*(1+cfg.Budget.Ratio) + cfg.Budget.MinPerSecond + 1)
	if got := calls.Load(); got > limit || got <= n {
		t.Fatalf("%d attempts for %d calls under a full outage, want in (%d, %d] (no budget: %d)",
			got, n, n, limit, n*cfg.MaxAttempts)
	}
}

func TestBudgetFloorRefills(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	clock := newClock(false)
	cfg := retry.Config{MaxAttempts: 2, Budget: retry.BudgetConfig{Ratio: 0.01, MinPerSecond: 1}}
	h := setup(t, cfg, clock, failing(&calls, -1, errs.Unavailable()), idempotent)
	call := func() int64 {
		before := calls.Load()
		_, _ = h.Call(context.Background(), req{})
		return calls.Load() - before
	}
	if got := call(); got != 2 { // one second of floor to start with
		t.Fatalf("first call: %d attempts, want 2", got)
	}
	if got := call(); got != 1 {
		t.Fatalf("second call: %d attempts, want 1 (budget spent)", got)
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(time.Second)
	clock.mu.Unlock()
	if got := call(); got != 2 {
		t.Fatalf("a second later: %d attempts, want 2", got)
	}
}

func TestFor(t *testing.T) {
	t.Parallel()
	cfg := retry.DefaultConfig()
	cfg.Commands = map[string]retry.CommandConfig{
		"stock.*":        {Idempotent: true, MaxAttempts: 5},
		"stock.put":      {Disable: true}, // lower case, as the config loader gives it
		"billing.*":      {Disable: true},
		"billing.Lookup": {Idempotent: true},
		"*":              {MaxAttempts: 4},
	}
	attrs := middleware.NewAttributes(retry.Idempotent.Value(true))
	tests := []struct {
		name     string
		attrs    middleware.Attributes
		want     bool
		attempts int
	}{
		{"stock.Get", middleware.Attributes{}, true, 5},
		{"stock.Put", attrs, false, 5},
		{"billing.Charge", attrs, false, 4},
		{"billing.Lookup", middleware.Attributes{}, true, 4},
		{"orders.List", attrs, true, 4},
		{"orders.Place", middleware.Attributes{}, false, 4},
	}
	for _, tt := range tests {
		p, ok := cfg.For(&middleware.Spec{Name: tt.name, Attributes: tt.attrs})
		if ok != tt.want || p.MaxAttempts != tt.attempts {
			t.Errorf("For(%s) = %+v, %v; want %v with %d attempts", tt.name, p, ok, tt.want, tt.attempts)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  retry.Config
		want string
	}{
		{retry.Config{MaxAttempts: -1}, "middleware.retry.max_attempts: must not be negative"},
		{retry.Config{BaseDelay: -1}, "middleware.retry.base_delay: must not be negative"},
		{retry.Config{MaxDelay: -1}, "middleware.retry.max_delay: must not be negative"},
		{retry.Config{Budget: retry.BudgetConfig{Ratio: 2}}, "middleware.retry.budget.ratio: must be in (0,1]"},
		{retry.Config{Budget: retry.BudgetConfig{MinPerSecond: -1}}, "middleware.retry.budget.min_per_second: must not be negative"},
		{retry.Config{Commands: map[string]retry.CommandConfig{"inventory.Reserve": {MaxAttempts: -2}}},
			`middleware.retry.commands["inventory.Reserve"].max_attempts: must not be negative`},
		{retry.Config{Commands: map[string]retry.CommandConfig{"inventory.*.Reserve": {}}},
			`middleware.retry.commands["inventory.*.Reserve"]: not a command pattern`},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "config: "+strings.TrimPrefix(tt.want, retry.Section+".")) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
		if _, err := retry.New(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "config: "+tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if err := retry.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func TestNoErrorNoAllocations(t *testing.T) {
	var calls atomic.Int64
	h := setup(t, retry.DefaultConfig(), newClock(true), failing(&calls, 0, nil), idempotent)
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { _, _ = h.Call(ctx, req{N: 1}) }); n != 0 {
		t.Errorf("%v allocations per successful call, want 0", n)
	}
}
