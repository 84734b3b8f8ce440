package timeout_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/timeout"
)

func serverCatalog(t testing.TB, cfg timeout.DeadlineConfig) *catalog.Catalog {
	t.Helper()
	mw, err := timeout.Deadline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.New()
	c.UseServerSide(mw)
	return c
}

// TestRunToCompletionOutlivesCaller: the caller cancels while the command
// runs; the command goes on to the end on a context that is not canceled
// and keeps the caller's values, and its work is done.
func TestRunToCompletionOutlivesCaller(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t, timeout.DefaultDeadlineConfig())
	started, finished := make(chan struct{}), make(chan struct{})
	release := make(chan struct{})
	var done atomic.Bool
	var sawErr error
	var sawID log.RequestID
	h, _ := catalog.RegisterIn(c, "orders.Place", func(ctx context.Context, r req) (resp, error) {
		defer close(finished)
		close(started)
		<-release
		sawErr = ctx.Err()
		sawID, _ = log.RequestIDFrom(ctx)
		done.Store(true)
		return resp(r), nil
	}, catalog.With(timeout.RunToCompletion(time.Minute)))

	id := log.NewRequestID()
	ctx, cancel := context.WithCancel(log.ContextWithRequestID(context.Background(), id))
	go func() { _, _ = h.Call(ctx, req{N: 1}) }()
	<-started
	cancel() // the caller goes away
	close(release)
	<-finished
	if !done.Load() || sawErr != nil {
		t.Fatalf("command done=%v, its context's error %v; want it to finish on a live context", done.Load(), sawErr)
	}
	if sawID != id {
		t.Fatalf("request id in the command %v, want the caller's %v", sawID, id)
	}
}

// TestRunToCompletionIgnoresCallerDeadline: the command's deadline is its
// own budget, not the caller's shorter one.
func TestRunToCompletionIgnoresCallerDeadline(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t, timeout.DefaultDeadlineConfig())
	var left time.Duration
	h, _ := catalog.RegisterIn(c, "orders.Place", func(ctx context.Context, r req) (resp, error) {
		dl, ok := ctx.Deadline()
		if ok {
			left = time.Until(dl)
		}
		return resp(r), nil
	}, catalog.With(timeout.RunToCompletion(time.Hour)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := h.Call(ctx, req{}); err != nil {
		t.Fatal(err)
	}
	if left < 59*time.Minute {
		t.Fatalf("command's deadline in %s, want its own budget of 1h", left)
	}
}

// TestRunToCompletionServerDeadlineCaps: a server deadline sooner than the
// budget bounds the detached command, so that its answer can be written.
func TestRunToCompletionServerDeadlineCaps(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t, timeout.DefaultDeadlineConfig())
	h, _ := catalog.RegisterIn(c, "orders.Place", wait, catalog.With(timeout.RunToCompletion(time.Hour)))
	ctx := timeout.WithServerDeadline(context.Background(), time.Now().Add(30*time.Millisecond))
	start := time.Now()
	_, err := h.Call(ctx, req{})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
	if errs.CodeOf(err) != "deadline_exceeded" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline_exceeded wrapping the context's", err)
	}
	// A later server deadline does not replace a sooner one.
	later := timeout.WithServerDeadline(ctx, time.Now().Add(time.Hour))
	if a, _ := timeout.ServerDeadline(ctx); !func() bool { b, _ := timeout.ServerDeadline(later); return b.Equal(a) }() {
		t.Fatal("a later server deadline replaced a sooner one")
	}
}

// TestRunToCompletionBudget: the command's own budget ends it with a
// typed deadline_exceeded naming the budget.
func TestRunToCompletionBudget(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t, timeout.DefaultDeadlineConfig())
	h, _ := catalog.RegisterIn(c, "orders.Place", wait, catalog.With(timeout.RunToCompletion(20*time.Millisecond)))
	_, err := h.Call(context.Background(), req{})
	e, ok := errs.As(err)
	if !ok || e.Code() != "deadline_exceeded" {
		t.Fatalf("err = %v, want deadline_exceeded", err)
	}
	if p, _ := e.Param("timeout"); p != "20ms" {
		t.Fatalf("timeout param %q, want 20ms", p)
	}
}

// TestNotStarted: a call whose caller has gone, or whose deadline has
// passed, is refused with a typed error before the command runs, whatever
// its policy.
func TestNotStarted(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t, timeout.DeadlineConfig{Commands: map[string]timeout.DeadlineCommand{
		"svc.Budgeted": {Budget: time.Hour},
	}})
	var ran atomic.Int64
	fn := func(context.Context, req) (resp, error) { ran.Add(1); return resp{}, nil }
	var handles []*catalog.Command[req, resp]
	for _, reg := range []struct {
		name string
		opts []catalog.Option
	}{
		{"svc.Read", nil},
		{"svc.Budgeted", nil},
		{"svc.Write", []catalog.Option{catalog.With(timeout.RunToCompletion(time.Minute))}},
	} {
		h, err := catalog.RegisterIn(c, reg.name, fn, reg.opts...)
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel2()
	for _, h := range handles {
		if _, err := h.Call(canceled, req{}); errs.CodeOf(err) != "canceled" || !errors.Is(err, context.Canceled) {
			t.Errorf("%s, caller gone: err = %v, want canceled", h.Name(), err)
		}
		if _, err := h.Call(expired, req{}); errs.CodeOf(err) != "deadline_exceeded" || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s, deadline passed: err = %v, want deadline_exceeded", h.Name(), err)
		}
	}
	if n := ran.Load(); n != 0 {
		t.Fatalf("the commands ran %d times for calls that must not start", n)
	}
}

// TestReadStopsWithCaller: a command without the policy sees its caller's
// cancellation.
func TestReadStopsWithCaller(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t, timeout.DefaultDeadlineConfig())
	started := make(chan struct{})
	h, _ := catalog.RegisterIn(c, "svc.Read", func(ctx context.Context, r req) (resp, error) {
		close(started)
		return wait(ctx, r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := h.Call(ctx, req{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the caller's cancellation", err)
	}
}

// TestBudgetForOtherCommands: a configured budget bounds a command that
// stops with its caller, unless the caller's deadline is sooner.
func TestBudgetForOtherCommands(t *testing.T) {
	t.Parallel()
	c := serverCatalog(t, timeout.DeadlineConfig{Commands: map[string]timeout.DeadlineCommand{"svc.*": {Budget: 20 * time.Millisecond}}})
	h, _ := catalog.RegisterIn(c, "svc.Read", wait)
	_, err := h.Call(context.Background(), req{})
	if e, ok := errs.As(err); !ok || e.Code() != "deadline_exceeded" {
		t.Fatalf("err = %v, want deadline_exceeded", err)
	} else if p, _ := e.Param("timeout"); p != "20ms" {
		t.Fatalf("timeout param %q, want 20ms", p)
	}
	// The caller's own sooner deadline is kept as it is.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	_, err = h.Call(ctx, req{})
	if !errors.Is(err, context.DeadlineExceeded) || errs.CodeOf(err) != "deadline_exceeded" {
		t.Fatalf("err = %v", err)
	}
	if e, ok := errs.As(err); ok {
		if p, _ := e.Param("timeout"); p != "" {
			t.Fatalf("the caller's deadline was reported as the budget %q", p)
		}
	}
}

func TestDeadlineFor(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	cmds := map[string]timeout.DeadlineCommand{
		"orders.*":      {RunToCompletion: &yes, Budget: 3 * time.Second},
		"orders.get":    {RunToCompletion: &no}, // lower case, as the loader gives it
		"reports.Build": {Budget: time.Minute},
	}
	cfg := timeout.DeadlineConfig{Commands: cmds}
	complete := middleware.NewAttributes(timeout.RunToCompletion(9 * time.Second))
	tests := []struct {
		name  string
		attrs middleware.Attributes
		want  timeout.Policy
	}{
		{"inventory.Reserve", complete, timeout.Policy{Complete: true, Budget: 9 * time.Second}},
		{"inventory.Stock", middleware.Attributes{}, timeout.Policy{}},
		{"orders.Place", middleware.Attributes{}, timeout.Policy{Complete: true, Budget: 3 * time.Second}},
		{"orders.Get", complete, timeout.Policy{Budget: 3 * time.Second}},
		{"reports.Build", middleware.Attributes{}, timeout.Policy{Budget: time.Minute}},
	}
	for _, tt := range tests {
		if got := cfg.For(&middleware.Spec{Name: tt.name, Attributes: tt.attrs}); got != tt.want {
			t.Errorf("For(%s) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if p := timeout.DefaultDeadlineConfig().For(&middleware.Spec{Name: "x.Y",
		Attributes: middleware.NewAttributes(timeout.RunToCompletion(-time.Second))}); p != (timeout.Policy{Complete: true}) {
		t.Errorf("negative budget: %+v, want complete without a budget", p)
	}
}

func TestDeadlineValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  timeout.DeadlineConfig
		want string
	}{
		{timeout.DeadlineConfig{Commands: map[string]timeout.DeadlineCommand{"orders.Place": {Budget: -1}}},
			`middleware.deadline.commands["orders.Place"].budget: must not be negative`},
		{timeout.DeadlineConfig{Commands: map[string]timeout.DeadlineCommand{"orders": {}}},
			`middleware.deadline.commands["orders"]: not a command pattern`},
	} {
		if _, err := timeout.Deadline(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "config: "+tt.want) {
			t.Errorf("Deadline(%+v) = %v, want %q...", tt.cfg, err, tt.want)
		}
	}
}

// TestDeadlineFromYAML decodes the section as an application does.
func TestDeadlineFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  deadline:
    commands:
      orders.Place: {run_to_completion: true, budget: 2s}
      orders.*: {run_to_completion: false}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.deadline", timeout.DefaultDeadlineConfig())
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.For(&middleware.Spec{Name: "orders.Place"}); p != (timeout.Policy{Complete: true, Budget: 2 * time.Second}) {
		t.Errorf("orders.Place: %+v", p)
	}
	if p := cfg.For(&middleware.Spec{Name: "orders.Get", Attributes: middleware.NewAttributes(timeout.RunToCompletion(time.Second))}); p.Complete {
		t.Errorf("orders.Get: %+v, want not complete", p)
	}
}

// TestClientSidePassesThrough: in a client chain the middleware does
// nothing, even for a caller that has gone (the server side decides).
func TestClientSidePassesThrough(t *testing.T) {
	t.Parallel()
	mw, _ := timeout.Deadline(timeout.DefaultDeadlineConfig())
	h := mw.Wrap(&middleware.Spec{Name: "svc.Op", Side: middleware.ClientSide, Attributes: middleware.NewAttributes(timeout.RunToCompletion(time.Second))},
		func(ctx context.Context, _ *middleware.Call) error { return nil })
	if h != nil {
		t.Fatal("Wrap added a handler to a client chain; want nil (nothing to do)")
	}
}

func TestDeadlineNoAllocations(t *testing.T) {
	c := serverCatalog(t, timeout.DefaultDeadlineConfig())
	h, _ := catalog.RegisterIn(c, "svc.Op", func(_ context.Context, r req) (resp, error) { return resp(r), nil })
	withID := log.ContextWithRequestID(context.Background(), log.NewRequestID())
	ctx, cancel := context.WithCancel(withID)
	defer cancel()
	for _, c := range []context.Context{withID, ctx} {
		if n := testing.AllocsPerRun(1000, func() { _, _ = h.Call(c, req{N: 1}) }); n != 0 {
			t.Errorf("a command without a budget: %v allocations per call, want 0", n)
		}
	}
}
