package middleware_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wegomesh/wego/middleware"
)

func record(log *[]string, label string) middleware.Middleware {
	return middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error {
			*log = append(*log, label)
			return next(ctx, c)
		}
	})
}

func TestChainOrder(t *testing.T) {
	t.Parallel()
	var log []string
	spec := &middleware.Spec{Name: "a.B"}
	terminal := func(context.Context, *middleware.Call) error { log = append(log, "end"); return nil }
	mw := middleware.Chain(record(&log, "1"), nil, middleware.Chain(record(&log, "2"), record(&log, "3")))
	h := mw.Wrap(spec, terminal)
	if err := h(context.Background(), &middleware.Call{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ","); got != "1,2,3,end" {
		t.Fatalf("order = %s", got)
	}
}

func TestBuildSeesSpecAndMayReturnNext(t *testing.T) {
	t.Parallel()
	spec := &middleware.Spec{Name: "inventory.Reserve"}
	var seen *middleware.Spec
	passthrough := middleware.WrapFunc(func(s *middleware.Spec, next middleware.Handler) middleware.Handler {
		seen = s
		return next
	})
	called := false
	terminal := func(context.Context, *middleware.Call) error { called = true; return nil }
	h := middleware.Build(spec, terminal, passthrough, nil)
	h(context.Background(), &middleware.Call{Spec: spec})
	if seen != spec || !called {
		t.Fatalf("seen %v, called %v", seen, called)
	}
	if spec.Service() != "inventory" || spec.Operation() != "Reserve" {
		t.Fatalf("Service/Operation = %q/%q", spec.Service(), spec.Operation())
	}
	if (&middleware.Spec{Name: "plain"}).Service() != "" {
		t.Fatal("a name without a dot has no service")
	}
}

func TestSide(t *testing.T) {
	t.Parallel()
	for side, want := range map[middleware.Side]string{middleware.ServerSide: "server", middleware.ClientSide: "client", 0: "unknown"} {
		if side.String() != want {
			t.Errorf("%d.String() = %q, want %q", side, side.String(), want)
		}
	}
}

func TestAttributes(t *testing.T) {
	t.Parallel()
	ttl := middleware.NewKey[int]("cache.ttl")
	idem := middleware.NewKey[bool]("retry.idempotent")
	same := middleware.NewKey[int]("cache.ttl") // same name, different key
	a := middleware.NewAttributes(ttl.Value(5), idem.Value(true))
	b := a.With(ttl.Value(9))
	if v, ok := ttl.Get(a); !ok || v != 5 {
		t.Fatalf("a: ttl = %v, %v", v, ok)
	}
	if v, ok := ttl.Get(b); !ok || v != 9 {
		t.Fatalf("b: ttl = %v, %v (the last value must win)", v, ok)
	}
	if _, ok := same.Get(b); ok {
		t.Fatal("keys must compare by identity, not name")
	}
	if v, ok := idem.Get(middleware.Attributes{}); ok || v {
		t.Fatal("empty attributes have no value")
	}
	all := b.All()
	if len(all) != 2 || all[0].Name() != "retry.idempotent" || all[1].Value() != 9 || all[1].String() != "cache.ttl=9" {
		t.Fatalf("All = %v", all)
	}
	if b.Len() != 3 || a.Len() != 2 {
		t.Fatalf("Len: a %d, b %d (With must not change a)", a.Len(), b.Len())
	}
	if ttl.String() != "cache.ttl" || ttl.Name() != "cache.ttl" {
		t.Fatal("key name")
	}
}

// Middleware wrap once per command, outermost first; per call only the
// returned handlers run.
func ExampleChain() {
	trace := func(label string) middleware.Middleware {
		return middleware.WrapFunc(func(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
			return func(ctx context.Context, c *middleware.Call) error {
				fmt.Println("enter", label, spec.Side)
				defer fmt.Println("leave", label)
				return next(ctx, c)
			}
		})
	}
	spec := &middleware.Spec{Name: "hello.Greet", Side: middleware.ServerSide}
	h := middleware.Chain(trace("outer"), trace("inner")).Wrap(spec,
		func(_ context.Context, c *middleware.Call) error {
			*c.Response.(*string) = "hello " + *c.Request.(*string)
			return nil
		})
	req, resp := "gopher", ""
	_ = h(context.Background(), &middleware.Call{Spec: spec, Request: &req, Response: &resp})
	fmt.Println(resp)
	// Output:
	// enter outer server
	// enter inner server
	// leave inner
	// leave outer
	// hello gopher
}

func ExampleKey() {
	ttl := middleware.NewKey[int]("cache.ttl_seconds")
	spec := &middleware.Spec{Name: "inventory.Stock", Attributes: middleware.NewAttributes(ttl.Value(30))}
	if v, ok := ttl.Get(spec.Attributes); ok {
		fmt.Println("cache for", v, "seconds")
	}
	// Output: cache for 30 seconds
}
