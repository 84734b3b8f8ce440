package fw_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
)

func appWithConfig(t *testing.T, cat *catalog.Catalog, yaml string, opts ...fw.Option) (*fw.App, error) {
	t.Helper()
	fsys := fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}
	base := []fw.Option{fw.Catalog(cat), fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.FS(fsys), config.Env("dev"), config.Dir(t.TempDir()))}
	return fw.New(append(base, opts...)...)
}

func TestDefaultChains(t *testing.T) {
	t.Parallel()
	a, err := appWithConfig(t, catalog.New(), "app: {name: x}\n")
	if err != nil {
		t.Fatal(err)
	}
	// This test binary does not import fw/newrelic: the chains skip it.
	notNewRelic := func(names []string) string {
		return strings.Join(slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "newrelic" }), ",")
	}
	server, client := a.ChainNames()
	if strings.Join(server, ",") != notNewRelic(fw.DefaultServerChain) ||
		strings.Join(client, ",") != notNewRelic(fw.DefaultClientChain) || slices.Contains(server, "newrelic") {
		t.Fatalf("chains = %v / %v", server, client)
	}
	if a.Cache() == nil {
		t.Fatal("the default client chain has a cache")
	}
}

// The default chain does its job: a panicking command becomes an internal
// error whose message hides the panic, and a command with invalid input is
// rejected by validation.
func TestDefaultChainsWork(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	boom, _ := catalog.RegisterIn(cat, "test.Boom", func(context.Context, string) (string, error) {
		panic("secret detail")
	})
	v, _ := catalog.RegisterIn(cat, "test.Check", func(_ context.Context, r checkReq) (string, error) { return "ok", nil })
	if _, err := appWithConfig(t, cat, "app: {name: x}\n"); err != nil {
		t.Fatal(err)
	}
	_, err := boom.Call(context.Background(), "x")
	if e, ok := errs.As(err); !ok || e.Kind() != errs.KindInternal || strings.Contains(e.Message(), "secret") {
		t.Fatalf("panic through the default chain = %v", err)
	}
	if _, err := v.Call(context.Background(), checkReq{}); errs.CodeOf(err) != "invalid_argument" {
		t.Fatalf("validation through the default chain = %v", err)
	}
	if got, err := v.Call(context.Background(), checkReq{N: 1}); err != nil || got != "ok" {
		t.Fatalf("valid request = %q, %v", got, err)
	}
}

type checkReq struct{ N int }

func (r checkReq) Validate() error {
	if r.N < 1 {
		return errs.InvalidArgument(errs.Field("n", "must be at least 1"))
	}
	return nil
}

func TestChainsFromConfig(t *testing.T) {
	t.Parallel()
	a, err := appWithConfig(t, catalog.New(), "middleware:\n  server: [requestid, recovery]\n  client: []\n  retry: {max_attempts: 2}\n")
	if err != nil {
		t.Fatal(err)
	}
	server, client := a.ChainNames()
	if strings.Join(server, ",") != "requestid,recovery" || len(client) != 0 {
		t.Fatalf("chains = %v / %v", server, client)
	}
}

func TestChainConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ yaml, want string }{
		{"middleware:\n  server: [recovery, nosuch]\n", "middleware.server[1]"},
		{"middleware:\n  server: [recovery, recovery]\n", "listed twice"},
		{"middleware:\n  retyr: {max_attempts: 2}\n", "middleware.retyr"},
		{"middleware:\n  retry: {max_attempts: -1}\n", "max_attempts"},
		{"middleware:\n  breaker: {failure_ratio: lots}\n", "failure_ratio"},
	}
	for _, tt := range tests {
		_, err := appWithConfig(t, catalog.New(), tt.yaml)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want it to name %q", tt.yaml, err, tt.want)
		}
	}
}

func TestCustomMiddlewareByName(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	h, _ := catalog.RegisterIn(cat, "test.Echo", func(_ context.Context, s string) (string, error) { return s, nil })
	var saw []string
	tag := fw.Middleware("tag", func(*fw.App) (middleware.Middleware, error) {
		return middleware.WrapFunc(func(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
			return func(ctx context.Context, c *middleware.Call) error {
				saw = append(saw, spec.Side.String())
				return next(ctx, c)
			}
		}), nil
	})
	if _, err := appWithConfig(t, cat, "middleware:\n  server: [tag]\n  client: [tag]\n", tag); err != nil {
		t.Fatal(err)
	}
	h.Call(context.Background(), "x")
	if strings.Join(saw, ",") != "client,server" {
		t.Fatalf("saw %v", saw)
	}
}

// The configuration decides the order of the chains; the first name is the
// outermost middleware.
func Example_chainOrder() {
	trace := func(label string) fw.Option {
		return fw.Middleware(label, func(*fw.App) (middleware.Middleware, error) {
			return middleware.WrapFunc(func(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
				return func(ctx context.Context, c *middleware.Call) error {
					fmt.Println(spec.Side, label)
					return next(ctx, c)
				}
			}), nil
		})
	}
	cat := catalog.New()
	hello, _ := catalog.RegisterIn(cat, "hello.Say", func(_ context.Context, s string) (string, error) {
		fmt.Println("function")
		return "hello " + s, nil
	})
	yaml := "middleware:\n  client: [c1, c2]\n  server: [s1, s2, s3]\n"
	_, err := fw.New(fw.Catalog(cat), fw.Logger(zap.NewNop()),
		trace("c1"), trace("c2"), trace("s1"), trace("s2"), trace("s3"),
		fw.ConfigOptions(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir("testdata/none")))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := hello.Call(context.Background(), "gopher")
	fmt.Println(out)
	fmt.Println("default server chain:", strings.Join(fw.DefaultServerChain, " → "))
	fmt.Println("default client chain:", strings.Join(fw.DefaultClientChain, " → "))
	// Output:
	// client c1
	// client c2
	// server s1
	// server s2
	// server s3
	// function
	// hello gopher
	// default server chain: recovery → requestid → auth → newrelic → logging → deadline → audit → ratelimit → faultinject → validate → idempotency
	// default client chain: cache → timeout → retry → breaker → newrelic → auth
}

// Audit records are written even when the application logs only errors:
// they are not log lines that a level may drop.
func TestAuditSurvivesLogLevel(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "app.log")
	cat := catalog.New()
	h, _ := catalog.RegisterIn(cat, "bank.Transfer", func(_ context.Context, s string) (string, error) { return s, nil },
		catalog.With(audit.Auditable.Value(true)))
	fsys := fstest.MapFS{"dev.yaml": {Data: []byte("log: {level: error, output: [" + out + "]}\n")}}
	a, err := fw.New(fw.Catalog(cat), fw.ConfigOptions(config.FS(fsys), config.Env("dev"), config.Dir(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	h.Call(context.Background(), "x")
	a.Stop(context.Background())
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), `"command":"bank.Transfer"`) || !strings.Contains(string(data), audit.ZapMessage) {
		t.Fatalf("no audit line in the log at level error:\n%s", data)
	}
	if strings.Contains(string(data), `"msg":"started"`) {
		t.Fatal("info lines of the application must still be filtered")
	}
}
