package catalogtest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	errs "github.com/wegomesh/wego/err"
)

type greetReq struct{ Name string }
type greetResp struct{ Text string }

// Registered in Default, as application code does from init.
var (
	greet = catalog.Register("catalogtest.Greet", func(_ context.Context, r greetReq) (greetResp, error) {
		return greetResp{Text: "hello " + r.Name}, nil
	})
	welcome = catalog.Register("catalogtest.Welcome", func(ctx context.Context, r greetReq) (greetResp, error) {
		// A command calling another through its global handle.
		g, err := greet.Call(ctx, r)
		return greetResp{Text: g.Text + ", welcome"}, err
	})
	prefix = catalog.Provide("catalogtest.prefix", "hi ")
	hail   = catalog.Register("catalogtest.Hail", func(ctx context.Context, r greetReq) (greetResp, error) {
		p, err := prefix.Get(ctx)
		return greetResp{Text: p + r.Name}, err
	})
)

// Parallel tests replace the same Default command with different fakes;
// each sees only its own.
func TestParallelIsolation(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			cat, ctx := catalogtest.New(t)
			want := fmt.Sprintf("fake %d", i)
			rec := catalogtest.Fake(t, cat, greet, greetResp{Text: want}, nil)
			for range 50 {
				got, err := welcome.Call(ctx, greetReq{Name: "x"})
				if err != nil || got.Text != want+", welcome" {
					t.Fatalf("got %q, %v; want %q", got.Text, err, want+", welcome")
				}
			}
			if rec.Len() != 50 || rec.Calls()[0].Name != "x" {
				t.Fatalf("recorded %d calls: %+v", rec.Len(), rec.Calls())
			}
		})
	}
	// Default itself is untouched.
	if got, _ := welcome.Call(context.Background(), greetReq{Name: "y"}); got.Text != "hello y, welcome" {
		t.Fatalf("Default changed: %q", got.Text)
	}
}

func TestReplaceUndoneAtCleanup(t *testing.T) {
	t.Parallel()
	cat, ctx := catalogtest.New(t)
	t.Run("inner", func(t *testing.T) {
		catalogtest.Replace(t, cat, greet, func(context.Context, greetReq) (greetResp, error) {
			return greetResp{}, errs.Unavailable()
		})
		if _, err := greet.Call(ctx, greetReq{}); errs.KindOf(err) != errs.KindUnavailable {
			t.Fatalf("fake not in effect: %v", err)
		}
	})
	if got, err := greet.Call(ctx, greetReq{Name: "z"}); err != nil || got.Text != "hello z" {
		t.Fatalf("after the subtest's cleanup: %q, %v", got.Text, err)
	}
}

func TestReplaceDep(t *testing.T) {
	t.Parallel()
	cat, ctx := catalogtest.New(t)
	catalogtest.ReplaceDep(t, cat, prefix, "yo ")
	if got, _ := hail.Call(ctx, greetReq{Name: "a"}); got.Text != "yo a" {
		t.Fatalf("got %q", got.Text)
	}
	if got, _ := hail.Call(context.Background(), greetReq{Name: "a"}); got.Text != "hi a" {
		t.Fatalf("Default changed: %q", got.Text)
	}
}

func TestRecordAndEmpty(t *testing.T) {
	t.Parallel()
	cat, ctx := catalogtest.New(t)
	boom := errors.New("boom")
	rec := catalogtest.Record(t, cat, greet, func(_ context.Context, r greetReq) (greetResp, error) {
		if r.Name == "bad" {
			return greetResp{}, boom
		}
		return greetResp{Text: r.Name}, nil
	})
	greet.Call(ctx, greetReq{Name: "ok"})
	if _, err := greet.Call(ctx, greetReq{Name: "bad"}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if calls := rec.Calls(); len(calls) != 2 || calls[1].Name != "bad" {
		t.Fatalf("calls = %+v", calls)
	}

	_, ectx := catalogtest.Empty(t)
	if _, err := greet.Call(ectx, greetReq{}); !errors.Is(err, catalog.ErrUnknownCommand) {
		t.Fatalf("empty catalog: %v", err)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and
// stops the goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A fake that cannot be installed fails with a message about the test's
// mistake, not a line inside the catalog (t.Helper names the test's line).
func TestFakeFailureNamesNoFrameworkLine(t *testing.T) {
	t.Parallel()
	other := catalog.New()
	cases := map[string]func(tb testing.TB){
		"not registered": func(tb testing.TB) {
			catalogtest.Fake(tb, other, greet, greetResp{}, nil)
		},
		"wrong types": func(tb testing.TB) {
			h, err := catalog.RegisterIn(catalog.New(), "catalogtest.Greet", func(context.Context, int) (int, error) { return 0, nil })
			if err != nil {
				panic(err)
			}
			cat, _ := catalogtest.New(t)
			catalogtest.Fake(tb, cat, h, 1, nil)
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &fatalRecorder{TB: t}
			done := make(chan struct{})
			go func() { defer close(done); f(rec) }()
			<-done
			if rec.msg == "" {
				t.Fatal("Fake did not fail")
			}
			if strings.Contains(rec.msg, "catalog/command.go") || strings.Contains(rec.msg, "catalogtest.go") {
				t.Fatalf("message names a framework line: %s", rec.msg)
			}
			if !strings.Contains(rec.msg, "catalogtest.Greet") {
				t.Fatalf("message does not name the command: %s", rec.msg)
			}
		})
	}
}
