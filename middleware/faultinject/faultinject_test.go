package faultinject_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/faultinject"
)

const sentinel = "SENTINEL-7f3a: must never reach a client"

func terminal(context.Context, *middleware.Call) error { return nil }

// outcome calls h once and says what happened: "ok", "panic", "error" or
// "other", and whether it was delayed (by more than 0).
func outcome(h middleware.Handler, spec *middleware.Spec) (what string) {
	defer func() {
		if r := recover(); r != nil {
			if r != sentinel {
				what = "bad panic"
				return
			}
			what = "panic"
		}
	}()
	err := h(context.Background(), &middleware.Call{Spec: spec})
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, faultinject.ErrInjected):
		return "error"
	}
	return "other"
}

func wrap(t testing.TB, cfg faultinject.Config, name string, opts ...faultinject.Option) (*faultinject.Injector, middleware.Handler, *middleware.Spec) {
	t.Helper()
	in, err := faultinject.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	spec := &middleware.Spec{Name: name}
	return in, in.Wrap(spec, terminal), spec
}

func reserveFaults() faultinject.Config {
	return faultinject.Config{Enabled: true, Seed: 42, Commands: map[string]faultinject.CommandConfig{
		"inventory.Reserve": {ErrorRate: 0.05, PanicRate: 0.01, LatencyRate: 0.05, Latency: time.Nanosecond, PanicMessage: sentinel},
	}}
}

func TestRates(t *testing.T) {
	t.Parallel()
	const n = 10000
	in, h, spec := wrap(t, reserveFaults(), "inventory.Reserve")
	got := map[string]int{}
	for range n {
		got[outcome(h, spec)]++
	}
	delays, panics, errors := in.Counts("inventory.Reserve")
	if int(panics) != got["panic"] || int(errors) != got["error"] {
		t.Fatalf("Counts = %d panics, %d errors; observed %v", panics, errors, got)
	}
	// Five standard deviations of a binomial: a seeded run is deterministic,
	// and any seed passes unless the rates are wrong.
	within := func(what string, count int64, p float64) {
		mean, sd := n*p, math.Sqrt(n*p*(1-p))
		if math.Abs(float64(count)-mean) > 5*sd {
			t.Errorf("%s: %d in %d calls, want %v ± %.0f", what, count, n, mean, 5*sd)
		}
	}
	within("errors", errors, 0.05)
	within("panics", panics, 0.01)
	within("delays", delays, 0.05)
	if got["other"] != 0 || got["bad panic"] != 0 || got["ok"]+got["error"]+got["panic"] != n {
		t.Fatalf("outcomes %v", got)
	}
}

func sequence(t testing.TB, seed uint64, calls int, interleave bool) string {
	cfg := reserveFaults()
	cfg.Seed = seed
	cfg.Commands["inventory.*"] = faultinject.CommandConfig{ErrorRate: 0.5}
	in, err := faultinject.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec := &middleware.Spec{Name: "inventory.Reserve"}
	other := &middleware.Spec{Name: "inventory.Stock"}
	h, ho := in.Wrap(spec, terminal), in.Wrap(other, terminal)
	var b strings.Builder
	for i := range calls {
		if interleave && i%3 == 0 {
			outcome(ho, other) // another command's calls do not shift this one's stream
		}
		b.WriteString(outcome(h, spec)[:1])
	}
	return b.String()
}

func TestSameSeedSameSequence(t *testing.T) {
	t.Parallel()
	a := sequence(t, 7, 2000, false)
	if b := sequence(t, 7, 2000, true); a != b {
		t.Fatal("the same seed gave another sequence")
	}
	if c := sequence(t, 8, 2000, false); a == c {
		t.Fatal("another seed gave the same sequence")
	}
	if !strings.Contains(a, "e") || !strings.Contains(a, "p") {
		t.Fatalf("sequence without errors or panics: %s", a[:100])
	}
}

func TestRandomSeed(t *testing.T) {
	t.Parallel()
	in, _ := faultinject.New(faultinject.Config{Enabled: true})
	if in.Seed() == 0 {
		t.Fatal("seed 0 must be replaced by a random seed")
	}
	again, _ := faultinject.New(faultinject.Config{Enabled: true, Seed: 3}, faultinject.WithSeed(in.Seed()))
	if again.Seed() != in.Seed() {
		t.Fatal("WithSeed must override the configured seed")
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	t.Parallel()
	_, h, spec := wrap(t, faultinject.Config{Enabled: true, Seed: 1, Commands: map[string]faultinject.CommandConfig{
		"*": {LatencyRate: 1, Latency: time.Hour},
	}}, "slow.Op")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := h(ctx, &middleware.Call{Spec: spec})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waited %v despite the deadline", d)
	}
	if errs.KindOf(err) != errs.KindDeadlineExceeded {
		t.Fatalf("err = %v, want deadline_exceeded", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := h(ctx, &middleware.Call{Spec: spec}); errs.KindOf(err) != errs.KindCanceled {
		t.Fatalf("err = %v, want canceled", err)
	}

	_, h, spec = wrap(t, faultinject.Config{Enabled: true, Seed: 1, Commands: map[string]faultinject.CommandConfig{
		"*": {LatencyRate: 1, Latency: 30 * time.Millisecond},
	}}, "slow.Op")
	start = time.Now()
	if err := h(context.Background(), &middleware.Call{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("delay %v, want at least 30ms", d)
	}
}

var errOutOfStock = errs.Define("faultinject_test.out_of_stock", errs.KindConflict, "Out of stock.")

type req struct{ SKU string }

func TestThroughCatalog(t *testing.T) {
	t.Parallel()
	in, err := faultinject.New(faultinject.Config{Enabled: true, Seed: 9, Commands: map[string]faultinject.CommandConfig{
		"inventory.reserve": {ErrorRate: 1, ErrorCode: "faultinject_test.out_of_stock"}, // lower case, as from a file
		"inventory.*":       {PanicRate: 1, PanicMessage: sentinel},
		"*":                 {ErrorRate: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(in)
	ran := 0
	fn := func(context.Context, req) (int, error) { ran++; return 1, nil }
	reserve, _ := catalog.RegisterIn(cat, "inventory.Reserve", fn)
	stock, _ := catalog.RegisterIn(cat, "inventory.Stock", fn)
	place, _ := catalog.RegisterIn(cat, "orders.Place", fn)
	ctx := context.Background()

	_, err = reserve.Call(ctx, req{})
	e, ok := errs.As(err)
	if !ok || e.Code() != "faultinject_test.out_of_stock" || e.Kind() != errs.KindConflict || e.Status() != 409 ||
		!errors.Is(err, errOutOfStock) || !errors.Is(err, faultinject.ErrInjected) ||
		!strings.Contains(e.Message(), "Injected") {
		t.Fatalf("reserve: %v", err)
	}
	if v, _ := e.Param("fault"); v != "injected" {
		t.Fatalf("params %v", e.Params())
	}

	_, err = place.Call(ctx, req{})
	if e, _ := errs.As(err); e == nil || e.Code() != "unavailable" || e.Status() != 503 || e.Message() != "Injected fault: unavailable." {
		t.Fatalf("place: %v", err)
	}

	func() {
		defer func() {
			if r := recover(); r != sentinel {
				t.Fatalf("recovered %v, want the sentinel", r)
			}
		}()
		_, _ = stock.Call(ctx, req{})
		t.Fatal("no panic")
	}()
	if ran != 0 {
		t.Fatalf("the function ran %d times", ran)
	}
}

func TestWrapReturnsNext(t *testing.T) {
	t.Parallel()
	same := func(h middleware.Handler) bool { return h == nil } // nothing added
	cfg := reserveFaults()
	cfg.Enabled = false
	if _, h, _ := wrap(t, cfg, "inventory.Reserve"); !same(h) {
		t.Error("disabled: want next")
	}
	if _, h, _ := wrap(t, reserveFaults(), "orders.Place"); !same(h) {
		t.Error("no fault for the command: want next")
	}
	cfg = reserveFaults()
	cfg.Commands["orders.*"] = faultinject.CommandConfig{}
	if _, h, _ := wrap(t, cfg, "orders.Place"); !same(h) {
		t.Error("an empty fault: want next")
	}
	if _, h, _ := wrap(t, reserveFaults(), "inventory.Reserve"); same(h) {
		t.Error("a fault: want a handler")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		f   faultinject.CommandConfig
		key string
	}{
		{faultinject.CommandConfig{ErrorRate: 1.5}, "error_rate"},
		{faultinject.CommandConfig{PanicRate: -0.1}, "panic_rate"},
		{faultinject.CommandConfig{LatencyRate: math.NaN()}, "latency_rate"},
		{faultinject.CommandConfig{ErrorRate: 0.6, PanicRate: 0.6}, "error_rate"},
		{faultinject.CommandConfig{LatencyRate: 0.1}, "latency"},
		{faultinject.CommandConfig{Latency: -time.Second}, "latency"},
		{faultinject.CommandConfig{ErrorRate: 0.1, ErrorCode: "no.such_code"}, "error_code"},
	} {
		_, err := faultinject.New(faultinject.Config{Commands: map[string]faultinject.CommandConfig{"a.B": tt.f}})
		want := `middleware.faultinject.commands["a.B"].` + tt.key + ":"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: err = %v, want %s", tt.f, err, want)
		}
	}
	if _, err := faultinject.New(faultinject.Config{Commands: map[string]faultinject.CommandConfig{"inventory.": {}}}); err == nil {
		t.Error("a malformed pattern was accepted")
	}
}
