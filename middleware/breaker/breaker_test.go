package breaker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/breaker"
)

type req struct{ Fail error }
type resp struct{ OK bool }

// flaky returns the error its request carries.
func flaky(calls *atomic.Int64) func(context.Context, req) (resp, error) {
	return func(_ context.Context, r req) (resp, error) {
		calls.Add(1)
		if r.Fail != nil {
			return resp{}, r.Fail
		}
		return resp{OK: true}, nil
	}
}

func setup(t *testing.T, cfg breaker.Config, opts ...breaker.Option) (*breaker.Breaker, *catalog.Command[req, resp], *atomic.Int64) {
	t.Helper()
	b, err := breaker.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.New()
	c.UseClientSide(b)
	var calls atomic.Int64
	h, err := catalog.RegisterIn(c, "stock.Get", flaky(&calls))
	if err != nil {
		t.Fatal(err)
	}
	return b, h, &calls
}

func state(t *testing.T, b *breaker.Breaker, node string) gobreaker.State {
	t.Helper()
	s, ok := b.State("stock.Get", node)
	if !ok {
		t.Fatalf("no breaker for stock.Get on %q", node)
	}
	return s
}

func TestDefaultTripsOnAlternatingFailures(t *testing.T) {
	t.Parallel()
	b, h, calls := setup(t, localConfig())
	ctx := context.Background()
	for i := range breaker.DefaultMinRequests {
		var fail error
		if i%2 == 1 {
			fail = errs.Unavailable()
		}
		if _, err := h.Call(ctx, req{Fail: fail}); breaker.IsOpen(err) {
			t.Fatalf("call %d: opened before min_requests", i)
		}
	}
	if got := state(t, b, ""); got != gobreaker.StateOpen {
		t.Fatalf("after %d calls, half failing: state %s, want open", breaker.DefaultMinRequests, got)
	}
	before := calls.Load()
	_, err := h.Call(ctx, req{})
	if !breaker.IsOpen(err) || errs.CodeOf(err) != "circuit_open" || errs.KindOf(err) != errs.KindUnavailable {
		t.Fatalf("call while open: %v, want circuit_open (unavailable)", err)
	}
	if e, _ := errs.As(err); e.Status() != 503 {
		t.Fatalf("status %d, want 503", e.Status())
	}
	if calls.Load() != before {
		t.Fatal("the command ran while the breaker was open")
	}
}

// TestGobreakerDefaultMissesAlternatingFailures documents why the default
// rule is a ratio: gobreaker's own (more than 5 consecutive failures) never
// opens on a 50% failure rate.
func TestGobreakerDefaultMissesAlternatingFailures(t *testing.T) {
	t.Parallel()
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{})
	for i := range 1000 {
		var err error
		if i%2 == 1 {
			err = errors.New("boom")
		}
		_, _ = cb.Execute(func() (struct{}, error) { return struct{}{}, err })
	}
	if cb.State() != gobreaker.StateClosed {
		t.Fatalf("gobreaker default: state %s", cb.State())
	}
}

func TestClosedOpenHalfOpenClosed(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.WarnLevel)
	cfg := localConfig()
	cfg.MinRequests = 4
	cfg.OpenTimeout = 50 * time.Millisecond
	b, h, calls := setup(t, cfg, breaker.WithLogger(zap.New(core)))
	ctx := context.Background()
	for range 4 {
		_, _ = h.Call(ctx, req{Fail: errs.Internal()})
	}
	if got := state(t, b, ""); got != gobreaker.StateOpen {
		t.Fatalf("state %s, want open", got)
	}
	time.Sleep(cfg.OpenTimeout + 20*time.Millisecond)
	if got := state(t, b, ""); got != gobreaker.StateHalfOpen {
		t.Fatalf("after open_timeout: state %s, want half-open", got)
	}
	// Half-open: a failure opens again.
	if _, err := h.Call(ctx, req{Fail: errs.DeadlineExceeded()}); errs.CodeOf(err) != "deadline_exceeded" {
		t.Fatalf("half-open call: %v, want the command's error", err)
	}
	if got := state(t, b, ""); got != gobreaker.StateOpen {
		t.Fatalf("failure when half-open: state %s, want open", got)
	}
	time.Sleep(cfg.OpenTimeout + 20*time.Millisecond)
	before := calls.Load()
	if _, err := h.Call(ctx, req{}); err != nil {
		t.Fatalf("half-open call: %v", err)
	}
	if calls.Load() != before+1 {
		t.Fatal("the half-open call did not reach the command")
	}
	if got := state(t, b, ""); got != gobreaker.StateClosed {
		t.Fatalf("success when half-open: state %s, want closed", got)
	}
	var changes []string
	for _, e := range logs.All() {
		f := e.ContextMap()
		if f["command"] != "stock.Get" || f["node"] != "" {
			t.Errorf("log fields %v", f)
		}
		changes = append(changes, f["from"].(string)+">"+f["to"].(string))
	}
	want := "closed>open half-open>open open>half-open half-open>closed"
	// gobreaker reports open>half-open lazily, when the state is next read.
	got := strings.Join(changes, " ")
	for _, w := range strings.Fields(want) {
		if !strings.Contains(got, w) {
			t.Errorf("state changes logged: %q, missing %q", got, w)
		}
	}
}

func TestClientErrorsAndCancellationNeverTrip(t *testing.T) {
	t.Parallel()
	cfg := localConfig()
	cfg.MinRequests = 2
	cfg.Mode = breaker.ModeRatio
	for _, fail := range []error{
		errs.NotFound(), errs.InvalidArgument(), errs.Conflict(), errs.PermissionDenied(),
		errs.ResourceExhausted(), context.Canceled, errs.Canceled(),
	} {
		b, h, calls := setup(t, cfg)
		for range 100 {
			_, err := h.Call(context.Background(), req{Fail: fail})
			if breaker.IsOpen(err) {
				t.Fatalf("%v: the breaker opened", fail)
			}
		}
		if calls.Load() != 100 || state(t, b, "") != gobreaker.StateClosed {
			t.Fatalf("%v: %d calls reached the command, state %s", fail, calls.Load(), state(t, b, ""))
		}
	}
}

func TestCanceledCallsAreNotCounted(t *testing.T) {
	t.Parallel()
	cfg := localConfig()
	cfg.MinRequests = 4
	b, h, _ := setup(t, cfg)
	ctx := context.Background()
	// 2 failures, then many cancellations: 2 counted calls < min_requests.
	for range 2 {
		_, _ = h.Call(ctx, req{Fail: errs.Internal()})
	}
	for range 50 {
		_, _ = h.Call(ctx, req{Fail: context.Canceled})
	}
	if got := state(t, b, ""); got != gobreaker.StateClosed {
		t.Fatalf("state %s: cancellations were counted", got)
	}
	// Had they counted as successes the ratio would be 2/52; as exclusions
	// two more failures open the breaker.
	for range 2 {
		_, _ = h.Call(ctx, req{Fail: errs.Internal()})
	}
	if got := state(t, b, ""); got != gobreaker.StateOpen {
		t.Fatalf("state %s, want open", got)
	}
}

func TestConsecutiveMode(t *testing.T) {
	t.Parallel()
	cfg := breaker.Config{Mode: breaker.ModeConsecutive, ConsecutiveFailures: 3, Local: true}
	b, h, _ := setup(t, cfg)
	ctx := context.Background()
	for range 10 { // alternating: never 3 in a row
		_, _ = h.Call(ctx, req{Fail: errs.Internal()})
		_, _ = h.Call(ctx, req{})
	}
	if got := state(t, b, ""); got != gobreaker.StateClosed {
		t.Fatalf("state %s, want closed", got)
	}
	for range 3 {
		_, _ = h.Call(ctx, req{Fail: errs.Internal()})
	}
	if got := state(t, b, ""); got != gobreaker.StateOpen {
		t.Fatalf("state %s, want open", got)
	}
}

// nodes is a balanced route: Pick names its nodes in turn, before the
// client chain runs, and the handler sends the call to the node picked.
// Node "bad" fails.
type nodes struct {
	mu   sync.Mutex
	next int
	list []string
	hits map[string]int
}

var _ catalog.Balancer = (*nodes)(nil)

func (r *nodes) Pick() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.list[r.next%len(r.list)]
	r.next++
	return n
}

func (r *nodes) Bind(*middleware.Spec) (middleware.Handler, error) {
	return func(_ context.Context, c *middleware.Call) error {
		r.mu.Lock()
		r.hits[c.Node]++
		r.mu.Unlock()
		if c.Node == "bad" {
			return errs.Unavailable()
		}
		*c.Response.(*resp) = resp{OK: true}
		return nil
	}, nil
}

func (r *nodes) hitsOf(node string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[node]
}

func TestPerNode(t *testing.T) {
	t.Parallel()
	cfg := localConfig()
	cfg.MinRequests = 10
	// The command's breaker sees 50% failures: keep it closed.
	cfg.Commands = map[string]breaker.CommandConfig{"stock.*": {FailureRatio: 0.6}}
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.New()
	c.UseClientSide(b)
	route := &nodes{list: []string{"good", "bad"}, hits: map[string]int{}}
	if err := c.SetRoute("stock.*", route); err != nil {
		t.Fatal(err)
	}
	h, _ := catalog.DeclareIn[req, resp](c, "stock.Get")
	ctx := context.Background()
	// Until the node's breaker opens (min_requests calls to it), calls to
	// bad reach it and fail.
	for range 20 {
		_, _ = h.Call(ctx, req{})
	}
	if got := state(t, b, "bad"); got != gobreaker.StateOpen {
		t.Fatalf("node bad: state %s, want open", got)
	}
	if got := state(t, b, "good"); got != gobreaker.StateClosed {
		t.Errorf("node good: state %s, want closed", got)
	}

	// From now on, calls the balancer sends to bad are refused before the
	// route, calls to good go through, and the refusals do not count
	// against the command.
	bad, good := route.hitsOf("bad"), route.hitsOf("good")
	for i := range 40 {
		_, err := h.Call(ctx, req{})
		if i%2 == 0 {
			if err != nil {
				t.Fatalf("call %d (to good): %v", i, err)
			}
			continue
		}
		if e, ok := errs.As(err); !ok || e.Code() != "circuit_open" {
			t.Fatalf("call %d (to bad): %v, want circuit_open", i, err)
		} else if n, _ := e.Param("node"); n != "bad" {
			t.Fatalf("node param %q", n)
		}
	}
	if route.hitsOf("bad") != bad {
		t.Error("calls reached the open node")
	}
	if route.hitsOf("good") != good+20 {
		t.Errorf("good served %d calls, want 20", route.hitsOf("good")-good)
	}
	if got := state(t, b, ""); got != gobreaker.StateClosed {
		t.Errorf("command: state %s after node refusals, want closed", got)
	}
}

func TestPerNodeOff(t *testing.T) {
	t.Parallel()
	cfg := localConfig()
	cfg.PerNode = false
	cfg.MinRequests = 4
	b, _ := breaker.New(cfg)
	c := catalog.New()
	c.UseClientSide(b)
	route := &nodes{list: []string{"bad"}, hits: map[string]int{}}
	if err := c.SetRoute("stock.*", route); err != nil {
		t.Fatal(err)
	}
	h, _ := catalog.DeclareIn[req, resp](c, "stock.Get")
	for range 4 {
		_, _ = h.Call(context.Background(), req{})
	}
	if _, ok := b.State("stock.Get", "bad"); ok {
		t.Error("per_node false: a node's breaker was made")
	}
	if got := state(t, b, ""); got != gobreaker.StateOpen {
		t.Errorf("command: state %s, want open", got)
	}
}

func TestOverridesAndDisable(t *testing.T) {
	t.Parallel()
	cfg := localConfig()
	cfg.Commands = map[string]breaker.CommandConfig{
		"stock.*":   {Disable: true, FailureRatio: 0.3},
		"stock.get": {MinRequests: 3}, // lower case, as the config loader gives it
		"billing.*": {Disable: true},
		"*":         {OpenTimeout: time.Minute, FailureRatio: 0.9},
	}
	got, ok := cfg.For("stock.Get")
	if !ok || got.MinRequests != 3 || got.FailureRatio != 0.3 || got.OpenTimeout != time.Minute || got.Window != 10*time.Second {
		t.Errorf("For(stock.Get) = %+v, %v", got, ok)
	}
	if got, ok := cfg.For("orders.Place"); !ok || got.FailureRatio != 0.9 || got.MinRequests != 20 {
		t.Errorf("For(orders.Place) = %+v, %v", got, ok)
	}
	if _, ok := cfg.For("stock.Put"); ok {
		t.Error("stock.Put: want disabled by its service's entry")
	}
	b, _ := breaker.New(cfg)
	next := func(context.Context, *middleware.Call) error { return nil }
	if h := b.Wrap(&middleware.Spec{Name: "billing.Charge"}, next); h != nil {
		t.Error("Wrap added a handler for a disabled command; want nil")
	}
	// Zero Config: every default.
	if got, ok := (breaker.Config{}).For("a.B"); !ok || got.Mode != "ratio" || got.Window != 10*time.Second ||
		got.MinRequests != 20 || got.HalfOpenMaxRequests != 1 || got.ConsecutiveFailures != 5 {
		t.Errorf("zero Config: %+v", got)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  breaker.Config
		want string
	}{
		{breaker.Config{FailureRatio: 1.5}, "middleware.breaker.failure_ratio: must be in (0,1]"},
		{breaker.Config{FailureRatio: -0.1}, "middleware.breaker.failure_ratio: must be in (0,1]"},
		{breaker.Config{Mode: "sometimes"}, "middleware.breaker.mode: unknown mode"},
		{breaker.Config{Window: -1}, "middleware.breaker.window: must not be negative"},
		{breaker.Config{OpenTimeout: -1}, "middleware.breaker.open_timeout: must not be negative"},
		{breaker.Config{Commands: map[string]breaker.CommandConfig{"inventory.Reserve": {FailureRatio: 2}}},
			`middleware.breaker.commands["inventory.Reserve"].failure_ratio: must be in (0,1]`},
		{breaker.Config{Commands: map[string]breaker.CommandConfig{"inventory.": {}}},
			`middleware.breaker.commands["inventory."]: not a command pattern`},
	}
	for _, tt := range tests {
		// Validate names the key relative to the section; New, under it.
		err := tt.cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+strings.TrimPrefix(tt.want, breaker.Section+".")) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
		if _, err := breaker.New(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "config: "+tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if err := breaker.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func TestClosedNoAllocations(t *testing.T) {
	_, h, _ := setup(t, localConfig())
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { _, _ = h.Call(ctx, req{}) }); n != 0 {
		t.Errorf("closed breaker: %v allocations per call, want 0", n)
	}
}

// localConfig is the default configuration guarding local commands too,
// so that these tests need no remote route.
func localConfig() breaker.Config {
	cfg := breaker.DefaultConfig()
	cfg.Local = true
	return cfg
}

// By default a breaker guards only commands routed to another process.
func TestLocalCommandsUnguardedByDefault(t *testing.T) {
	t.Parallel()
	b, h, _ := setup(t, breaker.DefaultConfig())
	for range 100 {
		h.Call(context.Background(), req{Fail: errs.Unavailable()})
	}
	if _, ok := b.State("stock.Get", ""); ok {
		t.Fatal("a local command got a breaker")
	}
}
