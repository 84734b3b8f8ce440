package fw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/transport"
)

// tracer is a middleware that records the side of each call it sees under
// its label, and counts how often it was built and closed.
type tracer struct {
	label         string
	saw           *[]string
	built, closed *atomic.Int32
}

func (tr *tracer) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	side := spec.Side.String()
	return func(ctx context.Context, c *middleware.Call) error {
		*tr.saw = append(*tr.saw, side+":"+tr.label)
		return next(ctx, c)
	}
}

func (tr *tracer) Close() error { tr.closed.Add(1); return nil }

// hostTracer also extends the transports' host.
type hostTracer struct{ *tracer }

func (h hostTracer) ExtendHost(host *transport.Host) {
	host.Propagators = append(host.Propagators, labelPropagator(h.label))
}

// labelPropagator sends its label as X-Traced-By.
type labelPropagator string

func (l labelPropagator) Inject(_ context.Context, md transport.Metadata) {
	md.Set("X-Traced-By", string(l))
}

func (l labelPropagator) Extract(ctx context.Context, _ transport.Metadata) context.Context {
	return ctx
}

type traced struct {
	saw           []string
	built, closed atomic.Int32
}

func (tc *traced) factory(label string) fw.Factory {
	return func(*fw.App) (middleware.Middleware, error) {
		tc.built.Add(1)
		return &tracer{label: label, saw: &tc.saw, built: &tc.built, closed: &tc.closed}, nil
	}
}

// Positions add a middleware to the default chains next to the one they
// name, in each default chain that has it, in the order of the options.
func TestMiddlewarePositions(t *testing.T) {
	t.Parallel()
	tc := &traced{}
	cat := catalog.New()
	h, _ := catalog.RegisterIn(cat, "test.Echo", func(_ context.Context, s string) (string, error) { return s, nil })
	a, err := appWithConfig(t, cat, "app: {name: x}\n",
		fw.Middleware("first", tc.factory("first"), fw.Before("recovery")),
		fw.Middleware("counter", tc.factory("counter"), fw.After("logging"), fw.After("breaker")),
		fw.Middleware("inner", tc.factory("inner"), fw.After("counter")),
		fw.Middleware("both", tc.factory("both"), fw.Before("newrelic")),
	)
	if err != nil {
		t.Fatal(err)
	}
	server, client := a.ChainNames()
	if got, want := strings.Join(server, " "), "first recovery requestid auth both logging counter inner deadline audit ratelimit faultinject validate idempotency"; got != want {
		t.Errorf("server chain:\n got %s\nwant %s", got, want)
	}
	if got, want := strings.Join(client, " "), "cache timeout retry breaker counter inner both auth"; got != want {
		t.Errorf("client chain:\n got %s\nwant %s", got, want)
	}
	if _, err := h.Call(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	// A local call runs the client chain, then the server chain.
	if got, want := strings.Join(tc.saw, " "),
		"client:counter client:inner client:both server:first server:both server:counter server:inner"; got != want {
		t.Errorf("calls:\n got %s\nwant %s", got, want)
	}
	// One instance per application, however many chains name it; closed
	// once when the application stops.
	if n := tc.built.Load(); n != 4 {
		t.Errorf("factories called %d times, want 4", n)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tc.closed.Load(); n != 4 {
		t.Errorf("closed %d times, want 4", n)
	}
}

func TestMiddlewareErrors(t *testing.T) {
	t.Parallel()
	f := (&traced{}).factory("x")
	tests := []struct {
		name string
		opt  fw.Option
		want string
	}{
		{"unknown anchor", fw.Middleware("counter", f, fw.After("loging")), `no default chain has "loging"`},
		{"already in the chain", fw.Middleware("logging", f, fw.After("audit")), `"logging" is already in the default server chain`},
		{"empty anchor", fw.Middleware("counter", f, fw.Position{}), "a position without a middleware name"},
		{"upper case", fw.Middleware("Counter", f), `invalid middleware name "Counter"`},
		{"chain list", fw.Middleware("server", f), `"server" is taken`},
		{"nil factory", fw.Middleware("counter", nil), `Middleware("counter"): nil factory`},
		{"factory fails", fw.Middleware("counter", func(*fw.App) (middleware.Middleware, error) { return nil, errors.New("boom") }, fw.After("logging")),
			`fw: middleware "counter": boom`},
		{"factory returns nil", fw.Middleware("counter", func(*fw.App) (middleware.Middleware, error) { return nil, nil }, fw.After("logging")),
			"no middleware"},
	}
	for _, tt := range tests {
		_, err := appWithConfig(t, catalog.New(), "app: {name: x}\n", tt.opt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// A registered middleware that no chain uses is named in one warning at
// start-up; a configured list is the whole chain, positions do not change
// it.
func TestUnusedMiddlewareWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		opts       []fw.Option
		want       []string // nil: no warning
	}{
		// fwtest_registered is registered by this binary's init, as an
		// imported package would register one, and named in no chain.
		{"no position", "app: {name: x}\n", []fw.Option{fw.Middleware("counter", (&traced{}).factory("c"))},
			[]string{"counter", "fwtest_registered"}},
		{"listed", "middleware: {server: [recovery, counter, fwtest_registered]}\n",
			[]fw.Option{fw.Middleware("counter", (&traced{}).factory("c"))}, nil},
		{"placed", "middleware: {client: [fwtest_registered]}\n",
			[]fw.Option{fw.Middleware("counter", (&traced{}).factory("c"), fw.After("logging"))}, nil},
		{"placed, but the list is configured", "middleware: {server: [recovery, logging], client: [fwtest_registered]}\n",
			[]fw.Option{fw.Middleware("counter", (&traced{}).factory("c"), fw.After("logging")),
				fw.Middleware("audit2", (&traced{}).factory("a"))}, []string{"audit2", "counter"}},
		{"Chains option", "app: {name: x}\n",
			[]fw.Option{fw.Middleware("counter", (&traced{}).factory("c")), fw.Chains(nil, nil)},
			[]string{"counter", "fwtest_registered"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zap.WarnLevel)
			a, err := appWithConfig(t, catalog.New(), tt.yaml, append(tt.opts, fw.Logger(zap.New(core)))...)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			a.Stop(context.Background())
			lines := logs.FilterMessage("middleware registered but in no chain").All()
			switch {
			case tt.want == nil && len(lines) != 0:
				t.Fatalf("unexpected warning: %v", lines[0].ContextMap())
			case tt.want != nil && len(lines) != 1:
				t.Fatalf("%d warnings, want 1: %v", len(lines), logs.All())
			case tt.want != nil:
				if got := fmt.Sprint(lines[0].ContextMap()["middleware"]); got != fmt.Sprint(tt.want) {
					t.Fatalf("warning names %s, want %v", got, tt.want)
				}
			}
		})
	}
}

// New Relic is not linked into this test binary: the chains skip it,
// unless the configuration turns it on, which fails New naming the
// import to add.
func TestNewRelicNotLinked(t *testing.T) {
	t.Parallel()
	const key = "0123456789012345678901234567890123456789"
	tests := []struct {
		name, yaml string
		env        map[string]string
		wantErr    bool
	}{
		{"license key in the file", "middleware:\n  newrelic: {license_key: \"" + key + "\", app_name: x}\n", nil, true},
		{"license key from the environment", "app: {name: x}\n", map[string]string{"WEGO_MIDDLEWARE_NEWRELIC_LICENSE_KEY": key}, true},
		{"listed and on", "middleware:\n  server: [recovery, newrelic]\n  newrelic: {license_key: \"" + key + "\"}\n", nil, true},
		{"disabled", "middleware:\n  newrelic: {license_key: \"" + key + "\", enabled: false}\n", nil, false},
		{"configured but off", "middleware:\n  newrelic: {app_name: x}\n", nil, false},
		{"listed but off", "middleware:\n  server: [recovery, newrelic]\n  client: [newrelic]\n", nil, false},
		{"on but in no chain", "middleware:\n  server: [recovery]\n  client: []\n  newrelic: {license_key: \"" + key + "\"}\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{"dev.yaml": {Data: []byte(tt.yaml)}}
			a, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()),
				fw.ConfigOptions(config.FS(fsys), config.Env("dev"), config.Dir(t.TempDir()),
					config.LookupEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })))
			if tt.wantErr {
				if !errors.Is(err, fw.ErrNotLinked) || !strings.Contains(err.Error(), `import _ "github.com/wegomesh/wego/fw/newrelic"`) ||
					!strings.Contains(err.Error(), "middleware.newrelic.license_key") {
					t.Fatalf("New = %v, want ErrNotLinked naming the key and the import", err)
				}
				if strings.Contains(err.Error(), key) {
					t.Fatalf("the error quotes the license key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			server, client := a.ChainNames()
			if strings.Contains(strings.Join(append(server, client...), " "), "newrelic") {
				t.Fatalf("chains = %v / %v, want newrelic skipped", server, client)
			}
		})
	}
}

// testRegistered is registered by this test binary as a package would
// register its middleware: built from its section, by name.
type testRegisteredConfig struct {
	Label string `mapstructure:"label"`
}

func (c *testRegisteredConfig) Validate() error {
	if c.Label == "" {
		return &config.Error{Key: "label", Err: errors.New("must not be empty")}
	}
	return nil
}

var registeredBuilt atomic.Int32

// gate holds the builds of fwtest_registered whose label names it: each
// closes building, then waits for release.
type gate struct {
	building, release chan struct{}
	closed            atomic.Int32 // closes of the middleware it built
}

// gates are the gates by label.
var gates sync.Map

func init() {
	fw.RegisterMiddleware("fwtest_registered", func() testRegisteredConfig { return testRegisteredConfig{Label: "default"} },
		func(a *fw.App, cfg testRegisteredConfig) (middleware.Middleware, error) {
			registeredBuilt.Add(1)
			tc := &traced{}
			closed := &tc.closed
			if v, ok := gates.Load(cfg.Label); ok {
				g := v.(*gate)
				close(g.building)
				<-g.release
				closed = &g.closed
			}
			return hostTracer{&tracer{label: cfg.Label, saw: &tc.saw, built: &tc.built, closed: closed}}, nil
		})
}

// A change of a middleware's section whose build ends after the
// application stopped: the application closes the middleware built from
// it, which no chain will run (run with -race).
func TestSwapAfterStopClosesWhatItBuilt(t *testing.T) {
	t.Parallel()
	const label = "swap-after-stop"
	g := &gate{building: make(chan struct{}), release: make(chan struct{})}
	gates.Store(label, g)
	dir := t.TempDir()
	write := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "dev.yaml"), []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("middleware:\n  client: [fwtest_registered]\n")
	a, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()), fw.ConfigOptions(config.Dir(dir), config.Env("dev")))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}

	write("middleware:\n  client: [fwtest_registered]\n  fwtest_registered: {label: " + label + "}\n")
	reloaded := make(chan error, 1)
	go func() { reloaded <- a.Config().Reload() }()
	select {
	case <-g.building:
	case <-time.After(10 * time.Second):
		t.Fatal("the change did not build the middleware")
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if err := <-reloaded; err != nil {
		t.Fatal(err)
	}
	if n := g.closed.Load(); n != 1 {
		t.Fatalf("the middleware built by a change that ended after Stop was closed %d times, want 1", n)
	}
}

func TestRegisterMiddleware(t *testing.T) {
	t.Parallel()
	// Named in a chain: built from its section, extends the host.
	rec := &recorder{}
	tr := &testTransport{name: "one", rec: rec}
	a, err := appWithConfig(t, catalog.New(), "middleware:\n  client: [fwtest_registered]\n  fwtest_registered: {label: configured}\n",
		fw.Transports(tr))
	if err != nil {
		t.Fatal(err)
	}
	if _, client := a.ChainNames(); strings.Join(client, ",") != "fwtest_registered" {
		t.Fatalf("client chain = %v", client)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	hd := http.Header{}
	for _, p := range tr.host.Propagators {
		p.Inject(context.Background(), transport.MD(hd))
	}
	if got := hd.Get("X-Traced-By"); got != "configured" {
		t.Fatalf("the host was not extended by the middleware built from its section: %q", got)
	}

	// Its section is checked like a built-in's.
	for yaml, want := range map[string]string{
		"middleware:\n  client: [fwtest_registered]\n  fwtest_registered: {label: \"\"}\n": "middleware.fwtest_registered.label",
		"middleware:\n  client: [fwtest_registered]\n  fwtest_registered: {lable: x}\n":    "lable",
	} {
		if _, err := appWithConfig(t, catalog.New(), yaml); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: New = %v, want an error naming %s", yaml, err, want)
		}
	}
}

func TestRegisterMiddlewarePanics(t *testing.T) {
	t.Parallel()
	build := func(*fw.App, struct{}) (middleware.Middleware, error) { return middleware.Func(nil), nil }
	defaults := func() struct{} { return struct{}{} }
	tests := []struct {
		name string
		reg  func()
		want []string
	}{
		{"a built-in's name", func() { fw.RegisterMiddleware("recovery", defaults, build) },
			[]string{`"recovery" registered twice`, "fw/chains.go:", "fw/registry_test.go:"}},
		{"a registered name", func() { fw.RegisterMiddleware("fwtest_registered", defaults, build) },
			[]string{`"fwtest_registered" registered twice`, "fw/registry_test.go:"}},
		{"a malformed name", func() { fw.RegisterMiddleware("my-mw", defaults, build) }, []string{`invalid middleware name "my-mw"`}},
		{"nil build", func() { fw.RegisterMiddleware[struct{}]("fwtest_nil", defaults, nil) }, []string{"nil defaults or build"}},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				for _, w := range tt.want {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: panic %q, want it to contain %q", tt.name, msg, w)
					}
				}
			}()
			tt.reg()
		}()
	}
}
