package hotpath_test

import (
	"context"
	"io"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/middleware/logging"
	"github.com/wegomesh/wego/middleware/requestid"
)

// The tests must not run in parallel with anything: AllocsPerRun counts
// every allocation of the process.

type req struct {
	SKU string
	Qty int
}

type resp struct {
	ID        string
	Remaining int
}

//go:noinline
func reserve(_ context.Context, r req) (resp, error) {
	return resp{ID: r.SKU, Remaining: 100 - r.Qty}, nil
}

const name = "inventory.Reserve"

const runs = 1000

func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector (see race_test.go)")
	}
}

// allocs runs f runs times and fails when it allocates more than max times
// per run on average.
func allocs(t *testing.T, what string, max float64, f func()) {
	t.Helper()
	if got := testing.AllocsPerRun(runs, f); got > max {
		t.Errorf("%s: %v allocations per call, want at most %v", what, got, max)
	}
}

func noop() middleware.Middleware {
	return middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})
}

func register(t *testing.T, c *catalog.Catalog) *catalog.Command[req, resp] {
	t.Helper()
	h, err := catalog.RegisterIn(c, name, reserve)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// check calls the command both ways and asserts the result, once, before
// the allocations are counted: a path that fails costs nothing and would
// pass.
func check(t *testing.T, ctx context.Context, c *catalog.Catalog, h *catalog.Command[req, resp]) {
	t.Helper()
	want := resp{ID: "a", Remaining: 97}
	if got, err := h.Call(ctx, req{SKU: "a", Qty: 3}); err != nil || got != want {
		t.Fatalf("typed call: %+v, %v", got, err)
	}
	var out resp
	if err := c.Call(ctx, name, &req{SKU: "a", Qty: 3}, &out); err != nil || out != want {
		t.Fatalf("call by name: %+v, %v", out, err)
	}
}

func TestEmptyChains(t *testing.T) {
	skipUnderRace(t)
	c := catalog.New()
	h := register(t, c)
	ctx := context.Background()
	check(t, ctx, c, h)
	r := req{SKU: "a", Qty: 3}
	var out resp
	allocs(t, "typed handle, empty chains", 0, func() { out, _ = h.Call(ctx, r) })
	allocs(t, "call by name, empty chains", 0, func() { _ = c.Call(ctx, name, &r, &out) })
}

func TestNoOpChains(t *testing.T) {
	skipUnderRace(t)
	c := catalog.New()
	h := register(t, c)
	var server, client []middleware.Middleware
	for range 5 {
		server, client = append(server, noop()), append(client, noop())
	}
	c.SetChains(server, client)
	ctx := context.Background()
	check(t, ctx, c, h)
	r := req{SKU: "a", Qty: 3}
	var out resp
	allocs(t, "typed handle, 5+5 no-op middleware", 0, func() { out, _ = h.Call(ctx, r) })
	allocs(t, "call by name, 5+5 no-op middleware", 0, func() { _ = c.Call(ctx, name, &r, &out) })
}

// TestDefaultChain builds the default chains as an application does from
// the default configuration, with logs at level error (New Relic is off
// without a license key).
func TestDefaultChain(t *testing.T) {
	skipUnderRace(t)
	t.Setenv("NEW_RELIC_LICENSE_KEY", "")
	c := catalog.New()
	h := register(t, c)
	_, err := fw.New(fw.Catalog(c), fw.Name("hotpath"),
		fw.Logger(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(log.EncoderConfig("json")), zapcore.AddSync(io.Discard), zapcore.ErrorLevel))),
		fw.ConfigOptions(config.Optional(), config.Overrides(map[string]any{"log.level": "error"})))
	if err != nil {
		t.Fatal(err)
	}
	if s, cl := c.Chains(); len(s) == 0 || len(cl) == 0 {
		t.Fatalf("fw.New left the chains empty: %d server, %d client", len(s), len(cl))
	}
	r := req{SKU: "a", Qty: 3}
	var out resp

	withID := log.ContextWithRequestID(context.Background(), log.NewRequestID())
	check(t, withID, c, h)
	allocs(t, "typed handle, default chain, request id in ctx", 0, func() { out, _ = h.Call(withID, r) })
	allocs(t, "call by name, default chain, request id in ctx", 0, func() { _ = c.Call(withID, name, &r, &out) })

	bg := context.Background()
	check(t, bg, c, h)
	allocs(t, "typed handle, default chain, no request id", 1, func() { out, _ = h.Call(bg, r) })
	allocs(t, "call by name, default chain, no request id", 1, func() { _ = c.Call(bg, name, &r, &out) })
}

// An audited call through the default chains writes its audit line to the
// zap sink with one allocation: the line's fields and the request id's
// text, in memory that is never reused.
func TestDefaultChainAudit(t *testing.T) {
	skipUnderRace(t)
	t.Setenv("NEW_RELIC_LICENSE_KEY", "")
	c := catalog.New()
	h, err := catalog.RegisterIn(c, name, reserve, catalog.With(audit.Auditable.Value(true)))
	if err != nil {
		t.Fatal(err)
	}
	core, lines := countingCore(zapcore.InfoLevel)
	if _, err := fw.New(fw.Catalog(c), fw.Name("hotpath"), fw.Logger(zap.New(core)),
		fw.ConfigOptions(config.Optional())); err != nil {
		t.Fatal(err)
	}
	withID := log.ContextWithRequestID(context.Background(), log.NewRequestID())
	check(t, withID, c, h)
	if *lines != 2 { // check makes two calls
		t.Fatalf("%d audit lines for 2 calls", *lines)
	}
	r := req{SKU: "a", Qty: 3}
	var out resp
	allocs(t, "typed handle, default chain, one audit line", 1, func() { out, _ = h.Call(withID, r) })
	if out.Remaining != 97 {
		t.Fatalf("response %+v", out)
	}
	if want := 2 + runs + 1; *lines != want { // AllocsPerRun adds a warm-up run
		t.Fatalf("%d audit lines, want %d", *lines, want)
	}
}

func TestRequestID(t *testing.T) {
	skipUnderRace(t)
	mw, err := requestid.New(requestid.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var seen bool
	h := mw.Wrap(&middleware.Spec{Name: name}, func(ctx context.Context, _ *middleware.Call) error {
		_, seen = log.RequestIDFrom(ctx)
		return nil
	})
	call := &middleware.Call{}
	bg := context.Background()
	withID := log.ContextWithRequestID(bg, log.NewRequestID())
	if _ = h(bg, call); !seen {
		t.Fatal("no request id after the middleware")
	}
	allocs(t, "requestid, id in ctx", 0, func() { _ = h(withID, call) })
	allocs(t, "requestid, no id", 1, func() { _ = h(bg, call) })
}

func TestLoggingDisabledLevel(t *testing.T) {
	skipUnderRace(t)
	core, lines := countingCore(zapcore.ErrorLevel)
	mw, err := logging.New(logging.DefaultConfig(), logging.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Wrap(&middleware.Spec{Name: name}, func(context.Context, *middleware.Call) error { return nil })
	call := &middleware.Call{}
	ctx := log.ContextWithRequestID(context.Background(), log.NewRequestID())
	allocs(t, "logging, success at a disabled level", 0, func() { _ = h(ctx, call) })
	if *lines != 0 {
		t.Fatalf("%d lines written at a disabled level", *lines)
	}
}

// countingCore is a JSON core at level that discards its output and
// counts the entries it writes.
func countingCore(level zapcore.Level) (zapcore.Core, *int) {
	n := new(int)
	core := zapcore.NewCore(zapcore.NewJSONEncoder(log.EncoderConfig("json")), zapcore.AddSync(io.Discard), level)
	return zapcore.RegisterHooks(core, func(zapcore.Entry) error { *n++; return nil }), n
}
