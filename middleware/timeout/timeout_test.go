package timeout_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/timeout"
)

type req struct{ N int }
type resp struct{ N int }

// wait blocks until its context is done and reports what it saw.
func wait(ctx context.Context, _ req) (resp, error) {
	<-ctx.Done()
	return resp{}, ctx.Err()
}

func newCatalog(t testing.TB, cfg timeout.Config) *catalog.Catalog {
	t.Helper()
	mw, err := timeout.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.New()
	c.UseClientSide(mw)
	return c
}

func TestDeadlineFires(t *testing.T) {
	t.Parallel()
	c := newCatalog(t, timeout.Config{Default: 20 * time.Millisecond})
	h, err := catalog.RegisterIn(c, "slow.Wait", wait)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = h.Call(context.Background(), req{})
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("call took %s", took)
	}
	if errs.CodeOf(err) != "deadline_exceeded" {
		t.Fatalf("err = %v, want code deadline_exceeded", err)
	}
	if _, ok := errs.As(err); !ok {
		t.Fatalf("err = %T, want an *errs.Error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestCallerDeadlineSoonerKeepsContext(t *testing.T) {
	t.Parallel()
	c := newCatalog(t, timeout.Config{Default: time.Hour})
	var got time.Time
	h, _ := catalog.RegisterIn(c, "svc.Op", func(ctx context.Context, _ req) (resp, error) {
		got, _ = ctx.Deadline()
		return resp{}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, _ := ctx.Deadline()
	if _, err := h.Call(ctx, req{}); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Fatalf("command's deadline = %v, want the caller's %v", got, want)
	}
}

func TestShorterTimeoutApplies(t *testing.T) {
	t.Parallel()
	c := newCatalog(t, timeout.Config{Default: time.Second})
	var got time.Time
	h, _ := catalog.RegisterIn(c, "svc.Op", func(ctx context.Context, _ req) (resp, error) {
		got, _ = ctx.Deadline()
		return resp{}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if _, err := h.Call(ctx, req{}); err != nil {
		t.Fatal(err)
	}
	if left := time.Until(got); left > time.Second || left < 0 {
		t.Fatalf("command's deadline in %s, want within 1s", left)
	}
}

func TestCallerCancellationIsNotRewritten(t *testing.T) {
	t.Parallel()
	c := newCatalog(t, timeout.Config{Default: time.Hour})
	h, _ := catalog.RegisterIn(c, "slow.Wait", wait)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.Call(ctx, req{})
	if !errors.Is(err, context.Canceled) || errs.CodeOf(err) != "canceled" {
		t.Fatalf("err = %v, want the caller's cancellation", err)
	}
}

func TestSuccessAfterDeadlineIsKept(t *testing.T) {
	t.Parallel()
	c := newCatalog(t, timeout.Config{Default: time.Millisecond})
	h, _ := catalog.RegisterIn(c, "svc.Stubborn", func(ctx context.Context, r req) (resp, error) {
		<-ctx.Done()
		return resp(r), nil // ignores the deadline: the work is done
	})
	got, err := h.Call(context.Background(), req{N: 7})
	if err != nil || got.N != 7 {
		t.Fatalf("Call = %v, %v; want the command's response", got, err)
	}
}

func TestFor(t *testing.T) {
	t.Parallel()
	attr := func(d time.Duration) middleware.Attributes {
		return middleware.NewAttributes(timeout.Key.Value(d))
	}
	cmds := map[string]timeout.CommandConfig{
		"inventory.reserve": {Timeout: 3 * time.Second}, // lower case, as the config loader gives it
		"inventory.*":       {Timeout: 2 * time.Second},
		"inventory.Release": {Disable: true},
		"billing.*":         {Disable: true},
		"billing.Charge":    {Timeout: 5 * time.Second},
		"billing.Refund":    {}, // inherits the service's disable
		"*":                 {Timeout: 7 * time.Second},
	}
	tests := []struct {
		name  string
		cfg   timeout.Config
		attrs middleware.Attributes
		want  time.Duration
	}{
		{"inventory.Reserve", timeout.Config{}, middleware.Attributes{}, 0},
		{"inventory.Reserve", timeout.Config{Default: time.Second}, middleware.Attributes{}, time.Second},
		{"orders.Place", timeout.Config{Default: time.Second}, attr(4 * time.Second), 4 * time.Second},
		{"orders.Place", timeout.Config{Default: time.Second}, attr(0), 0},
		{"inventory.Reserve", timeout.Config{Default: time.Second, Commands: cmds}, attr(9 * time.Second), 3 * time.Second},
		{"inventory.Stock", timeout.Config{Default: time.Second, Commands: cmds}, attr(9 * time.Second), 2 * time.Second},
		{"inventory.Release", timeout.Config{Default: time.Second, Commands: cmds}, attr(9 * time.Second), 0},
		{"billing.Refund", timeout.Config{Default: time.Second, Commands: cmds}, middleware.Attributes{}, 0},
		{"billing.Charge", timeout.Config{Default: time.Second, Commands: cmds}, middleware.Attributes{}, 5 * time.Second},
		{"orders.Place", timeout.Config{Default: time.Second, Commands: cmds}, attr(9 * time.Second), 7 * time.Second},
	}
	for _, tt := range tests {
		got, ok := tt.cfg.For(&middleware.Spec{Name: tt.name, Attributes: tt.attrs})
		if got != tt.want || ok != (tt.want > 0) {
			t.Errorf("%s %+v: For = %s, %v; want %s", tt.name, tt.cfg, got, ok, tt.want)
		}
	}
}

func TestWrapReturnsNextWhenNoTimeout(t *testing.T) {
	t.Parallel()
	mw, _ := timeout.New(timeout.DefaultConfig())
	next := func(context.Context, *middleware.Call) error { return nil }
	if h := mw.Wrap(&middleware.Spec{Name: "svc.Op"}, next); h != nil {
		t.Fatal("Wrap added a handler for a command without a timeout; want nil")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  timeout.Config
		want string
	}{
		{timeout.DefaultConfig(), ""},
		{timeout.Config{Default: -time.Second}, "middleware.timeout.default: must not be negative"},
		{timeout.Config{Commands: map[string]timeout.CommandConfig{"inventory.Reserve": {Timeout: -1}}},
			`middleware.timeout.commands["inventory.Reserve"].timeout: must not be negative`},
		{timeout.Config{Commands: map[string]timeout.CommandConfig{"inventory.Re*": {}}},
			`middleware.timeout.commands["inventory.Re*"]: not a command pattern`},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v", tt.cfg, err)
			}
			continue
		}
		// Validate names the key relative to the section; New, under it.
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+strings.TrimPrefix(tt.want, timeout.Section+".")) {
			t.Errorf("Validate(%+v) = %v, want %q...", tt.cfg, err, tt.want)
		}
		if _, err := timeout.New(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "config: "+tt.want) {
			t.Errorf("New(%+v) = %v, want %q...", tt.cfg, err, tt.want)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	c := newCatalog(t, timeout.Config{Default: time.Second})
	h, _ := catalog.RegisterIn(c, "svc.Op", func(_ context.Context, r req) (resp, error) { return resp(r), nil })
	off, _ := catalog.RegisterIn(c, "svc.Off", func(_ context.Context, r req) (resp, error) { return resp(r), nil },
		catalog.With(timeout.Key.Value(-1)))
	sooner, cancel := context.WithTimeout(context.Background(), time.Millisecond*500)
	defer cancel()
	if n := testing.AllocsPerRun(1000, func() { _, _ = h.Call(sooner, req{N: 1}) }); n != 0 {
		t.Errorf("caller's deadline sooner: %v allocations per call, want 0", n)
	}
	bg := context.Background()
	// svc.Off has a negative timeout: the chain for it is empty.
	if n := testing.AllocsPerRun(1000, func() { _, _ = off.Call(bg, req{N: 1}) }); n != 0 {
		t.Errorf("no timeout: %v allocations per call, want 0", n)
	}
}
