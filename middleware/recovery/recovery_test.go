package recovery_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/recovery"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type Req struct{ Fail string }

var errSentinel = errors.New("sentinel failure")

// setup returns a catalog whose server chain starts with recovery, logging
// to an observer, and a command that panics as req.Fail says.
func setup(t testing.TB, cfg recovery.Config, extra ...middleware.Middleware) (*catalog.Command[Req, string], *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	mw, err := recovery.New(cfg, recovery.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.New()
	c.UseServerSide(append([]middleware.Middleware{mw}, extra...)...)
	cmd, err := catalog.RegisterIn(c, "shop.Buy", func(_ context.Context, r Req) (string, error) {
		switch r.Fail {
		case "string":
			panic("secret boom 1234")
		case "error":
			panic(errSentinel)
		case "nil-map":
			var m map[string]int
			//lint:ignore SA5000 a runtime error panic, on purpose
			m["x"] = 1
		case "nil":
			panic(nil) //nolint:govet // testing panic(nil) on purpose
		case "errs":
			return "", errs.NotFound()
		}
		return "ok", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cmd, logs
}

func TestPanicBecomesInternalError(t *testing.T) {
	t.Parallel()
	cmd, logs := setup(t, recovery.DefaultConfig())
	id, _ := log.ParseRequestID("req-7")
	ctx := log.ContextWithRequestID(context.Background(), id)

	resp, err := cmd.Call(ctx, Req{Fail: "string"})
	if resp != "" {
		t.Errorf("response = %q, want the zero value", resp)
	}
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("err = %v (%T), want an *errs.Error", err, err)
	}
	if e.Kind() != errs.KindInternal || e.Code() != "internal" || e.Status() != 500 {
		t.Errorf("kind, code, status = %v, %q, %d; want internal, internal, 500", e.Kind(), e.Code(), e.Status())
	}
	for _, leak := range []string{"secret boom", "goroutine ", "panic"} {
		if strings.Contains(e.Message(), leak) {
			t.Errorf("client message %q contains %q", e.Message(), leak)
		}
	}
	var pe *recovery.PanicError
	if !errors.As(err, &pe) || pe.Value != "secret boom 1234" {
		t.Fatalf("cause = %v, want the panic value", e.Cause())
	}
	if !strings.Contains(err.Error(), "secret boom 1234") {
		t.Errorf("Error() for logs = %q, want the panic value in it", err)
	}
	if strings.Contains(err.Error(), "goroutine ") {
		t.Errorf("Error() = %q: the stack belongs in the log line only", err)
	}

	entries := logs.FilterMessage(recovery.Message).AllUntimed()
	if len(entries) != 1 {
		t.Fatalf("%d log lines, want 1: %v", len(entries), logs.AllUntimed())
	}
	line := entries[0]
	if line.Level != zapcore.ErrorLevel {
		t.Errorf("level = %v, want error", line.Level)
	}
	f := line.ContextMap()
	if f["command"] != "shop.Buy" || f["request_id"] != "req-7" || f["side"] != "server" {
		t.Errorf("fields = %v, want command shop.Buy, request_id req-7, side server", f)
	}
	if p, _ := f["panic"].(string); p != "secret boom 1234" {
		t.Errorf("panic field = %q", p)
	}
	stack, _ := f["stack"].(string)
	if !strings.HasPrefix(stack, "goroutine ") || !strings.Contains(stack, "recovery_test") {
		t.Errorf("stack field does not show the panicking goroutine: %.200q", stack)
	}
}

func TestPanicKinds(t *testing.T) {
	t.Parallel()
	cmd, logs := setup(t, recovery.DefaultConfig())
	ctx := context.Background()

	_, err := cmd.Call(ctx, Req{Fail: "error"})
	if !errors.Is(err, errSentinel) || errs.CodeOf(err) != "internal" {
		t.Errorf("panic(error): err = %v, want internal wrapping the sentinel", err)
	}

	_, err = cmd.Call(ctx, Req{Fail: "nil-map"})
	var re runtime.Error
	if !errors.As(err, &re) || errs.CodeOf(err) != "internal" {
		t.Errorf("runtime panic: err = %v, want internal wrapping a runtime.Error", err)
	}

	_, err = cmd.Call(ctx, Req{Fail: "nil"})
	var pn *runtime.PanicNilError
	if !errors.As(err, &pn) {
		t.Errorf("panic(nil): err = %v, want a *runtime.PanicNilError cause", err)
	}
	if n := logs.FilterMessage(recovery.Message).Len(); n != 3 {
		t.Errorf("%d panic lines, want 3", n)
	}
}

func TestNoPanicPassesThrough(t *testing.T) {
	t.Parallel()
	cmd, logs := setup(t, recovery.DefaultConfig())
	resp, err := cmd.Call(context.Background(), Req{})
	if resp != "ok" || err != nil {
		t.Errorf("= %q, %v; want ok, nil", resp, err)
	}
	_, err = cmd.Call(context.Background(), Req{Fail: "errs"})
	if errs.CodeOf(err) != "not_found" {
		t.Errorf("err = %v, want the command's own not_found", err)
	}
	if logs.Len() != 0 {
		t.Errorf("logged %v, want nothing", logs.AllUntimed())
	}
}

func TestGeneratesRequestIDForTheRestOfTheChain(t *testing.T) {
	t.Parallel()
	var inner string
	probe := middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error {
			id, _ := log.RequestIDFrom(ctx)
			inner = id.String()
			return next(ctx, c)
		}
	})
	cmd, logs := setup(t, recovery.DefaultConfig(), probe)
	_, _ = cmd.Call(context.Background(), Req{Fail: "string"})
	f := logs.FilterMessage(recovery.Message).AllUntimed()[0].ContextMap()
	if inner == "" || f["request_id"] != inner {
		t.Errorf("log line id %v, chain id %q: want one generated id", f["request_id"], inner)
	}
}

func TestPanicInLaterMiddleware(t *testing.T) {
	t.Parallel()
	bad := middleware.Func(func(middleware.Handler) middleware.Handler {
		return func(context.Context, *middleware.Call) error { panic("middleware bug") }
	})
	cmd, logs := setup(t, recovery.DefaultConfig(), bad)
	if _, err := cmd.Call(context.Background(), Req{}); errs.CodeOf(err) != "internal" {
		t.Errorf("err = %v, want internal", err)
	}
	if logs.Len() != 1 {
		t.Errorf("%d log lines, want 1", logs.Len())
	}
}

func TestOmitStack(t *testing.T) {
	t.Parallel()
	cmd, logs := setup(t, recovery.Config{OmitStack: true})
	_, err := cmd.Call(context.Background(), Req{Fail: "string"})
	var pe *recovery.PanicError
	if !errors.As(err, &pe) || pe.Stack != nil {
		t.Errorf("stack kept with omit_stack: %v", err)
	}
	if _, ok := logs.AllUntimed()[0].ContextMap()["stack"]; ok {
		t.Error("stack logged with omit_stack")
	}
}

func TestMaxStackBytes(t *testing.T) {
	t.Parallel()
	cmd, logs := setup(t, recovery.Config{MaxStackBytes: 100})
	_, _ = cmd.Call(context.Background(), Req{Fail: "string"})
	if s, _ := logs.AllUntimed()[0].ContextMap()["stack"].(string); len(s) != 100 {
		t.Errorf("stack of %d bytes, want 100", len(s))
	}
}

// The process survives many concurrent panics, and each call gets its own
// error.
func TestConcurrentPanics(t *testing.T) {
	t.Parallel()
	cmd, logs := setup(t, recovery.Config{OmitStack: true})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			fail := "string"
			if i%2 == 0 {
				fail = ""
			}
			_, err := cmd.Call(context.Background(), Req{Fail: fail})
			if (err != nil) != (fail != "") {
				t.Errorf("call %d: err = %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := logs.Len(); n != 25 {
		t.Errorf("%d panic lines, want 25", n)
	}
}

func TestDefaultLoggerFromContext(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.ErrorLevel)
	mw, _ := recovery.New(recovery.DefaultConfig())
	h := mw.Wrap(&middleware.Spec{Name: "a.B", Side: middleware.ClientSide}, func(context.Context, *middleware.Call) error { panic("x") })
	ctx := log.WithLogger(context.Background(), zap.New(core))
	if err := h(ctx, &middleware.Call{}); errs.CodeOf(err) != "internal" {
		t.Errorf("err = %v", err)
	}
	if logs.Len() != 1 || logs.AllUntimed()[0].ContextMap()["side"] != "client" {
		t.Errorf("logs = %v, want one line on the context's logger, side client", logs.AllUntimed())
	}
}

func TestNoAllocsWithoutPanic(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	mw, _ := recovery.New(recovery.DefaultConfig())
	h := mw.Wrap(&middleware.Spec{Name: "a.B"}, func(context.Context, *middleware.Call) error { return nil })
	ctx := log.ContextWithRequestID(context.Background(), log.NewRequestID())
	call := &middleware.Call{}
	if n := testing.AllocsPerRun(1000, func() { _ = h(ctx, call) }); n != 0 {
		t.Errorf("%v allocs per call, want 0", n)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	if err := recovery.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
	_, err := recovery.New(recovery.Config{MaxStackBytes: -1})
	if err == nil || !strings.HasPrefix(err.Error(), "config: middleware.recovery.max_stack_bytes: ") {
		t.Errorf("err = %v, want one naming middleware.recovery.max_stack_bytes", err)
	}
}
