package fw_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/transport"
)

// recorder notes lifecycle events in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, " ")
}

func (r *recorder) hook(name string, err error) fw.Hook {
	return func(context.Context) error { r.add(name); return err }
}

// testTransport is a transport that records its lifecycle; Stop can block
// until its context is done, like a server draining a slow request.
type testTransport struct {
	name      string
	rec       *recorder
	startErr  error
	blockStop bool
	host      transport.Host
}

func (t *testTransport) Name() string { return t.name }

func (t *testTransport) Start(_ context.Context, h transport.Host) error {
	t.host = h
	t.rec.add("start:" + t.name)
	return t.startErr
}

func (t *testTransport) Stop(ctx context.Context) error {
	t.rec.add("stop:" + t.name)
	if t.blockStop {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func newApp(t *testing.T, opts ...fw.Option) *fw.App {
	t.Helper()
	base := []fw.Option{fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.Optional(), config.Dir(t.TempDir()))}
	a, err := fw.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLifecycleOrder(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	a := newApp(t,
		fw.Transports(&testTransport{name: "one", rec: rec}, &testTransport{name: "two", rec: rec}),
		fw.BeforeStart(rec.hook("beforeStart", nil)), fw.AfterStart(rec.hook("afterStart", nil)),
		fw.BeforeStop(rec.hook("beforeStop", nil)), fw.AfterStop(rec.hook("afterStop", nil)))
	ctx := context.Background()
	if err := a.Stop(ctx); !errors.Is(err, fw.ErrNotStarted) {
		t.Fatalf("Stop before Start = %v", err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); !errors.Is(err, fw.ErrAlreadyStarted) {
		t.Fatalf("second Start = %v", err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	want := "beforeStart start:one start:two afterStart beforeStop stop:two stop:one afterStop"
	if got := rec.String(); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	if err := a.Stop(ctx); !errors.Is(err, fw.ErrStopped) {
		t.Fatalf("second Stop = %v", err)
	}
	if err := a.Start(ctx); !errors.Is(err, fw.ErrStopped) {
		t.Fatalf("Start after Stop = %v", err)
	}
}

func TestStartFailureStopsStartedTransports(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	boom := errors.New("address in use")
	a := newApp(t, fw.Transports(&testTransport{name: "one", rec: rec},
		&testTransport{name: "two", rec: rec, startErr: boom}, &testTransport{name: "three", rec: rec}))
	err := a.Start(context.Background())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "two") {
		t.Fatalf("Start = %v, want the failure naming the transport", err)
	}
	if got := rec.String(); got != "start:one start:two stop:one" {
		t.Fatalf("events = %s", got)
	}
	if err := a.Start(context.Background()); !errors.Is(err, fw.ErrStopped) {
		t.Fatalf("restart after failure = %v", err)
	}
}

func TestFailingHooks(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	boom := errors.New("migrations failed")
	a := newApp(t, fw.Transports(&testTransport{name: "one", rec: rec}), fw.BeforeStart(rec.hook("before", boom)))
	if err := a.Start(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Start = %v", err)
	}
	if got := rec.String(); got != "before" {
		t.Fatalf("a failed before-start hook must start nothing: %s", got)
	}

	rec2 := &recorder{}
	b := newApp(t, fw.Transports(&testTransport{name: "one", rec: rec2}),
		fw.BeforeStop(rec2.hook("bs", boom)), fw.AfterStop(rec2.hook("as", nil)))
	b.Start(context.Background())
	if err := b.Stop(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Stop = %v", err)
	}
	if got := rec2.String(); got != "start:one bs stop:one as" {
		t.Fatalf("stop hooks and transports must all run: %s", got)
	}
}

func TestRunStopsOnContextAndSignal(t *testing.T) {
	rec := &recorder{}
	a := newApp(t, fw.Transports(&testTransport{name: "one", rec: rec}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, func() bool { return rec.String() == "start:one" })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := rec.String(); got != "start:one stop:one" {
		t.Fatalf("events = %s", got)
	}

	// A signal stops it too (SIGUSR1 here, to leave the test process alone).
	rec2 := &recorder{}
	b := newApp(t, fw.Transports(&testTransport{name: "one", rec: rec2}), fw.Signals(syscall.SIGUSR1))
	done2 := make(chan error, 1)
	go func() { done2 <- b.Run(context.Background()) }()
	waitFor(t, func() bool { return rec2.String() == "start:one" })
	syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
	select {
	case err := <-done2:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop on the signal")
	}
}

func TestShutdownTimeoutBoundsStop(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	a := newApp(t, fw.Transports(&testTransport{name: "slow", rec: rec, blockStop: true}),
		fw.ShutdownTimeout(50*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, func() bool { return rec.String() == "start:slow" })
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want the stop deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Run did not return after the shutdown timeout (%v)", time.Since(start))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConfigErrorsFailNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, want string
	}{
		{"unknown section", "htpp:\n  addr: x\n", `htpp`},
		{"wrong type", "app:\n  shutdown_timeout: soon\n", "app.shutdown_timeout"},
		{"invalid value", "app:\n  shutdown_timeout: -1s\n", "shutdown_timeout"},
		{"bad log level", "log:\n  level: verbose\n", "level"},
		{"route to a bad URL", "routes:\n  inventory.*: not-a-url\n", "routes.inventory.*"},
		{"route to an unknown scheme", "routes:\n  inventory.*: gopher://x:1\n", "gopher"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{"dev.yaml": {Data: []byte(tt.file)}}
			_, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()),
				fw.ConfigOptions(config.FS(fsys), config.Env("dev"), config.Dir(t.TempDir())))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error naming %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "dev.yaml") {
				t.Fatalf("error %q must name the file", err)
			}
		})
	}
}

// staticRoute answers every call locally with a fixed node name.
type staticRoute struct{ node string }

func (r staticRoute) Bind(*middleware.Spec) (middleware.Handler, error) {
	return func(_ context.Context, c *middleware.Call) error {
		c.Node = r.node
		*c.Response.(*string) = "remote via " + r.node
		return nil
	}, nil
}

func init() {
	transport.RegisterRouteFactory("fwtest", func(_ transport.Host, targets []string) (catalog.Route, error) {
		return staticRoute{node: strings.Join(targets, ",")}, nil
	})
}

func TestRoutesFromConfig(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	echo, _ := catalog.RegisterIn(cat, "echo.Say", func(_ context.Context, s string) (string, error) { return "local " + s, nil })
	other, _ := catalog.RegisterIn(cat, "other.Say", func(_ context.Context, s string) (string, error) { return "local " + s, nil })
	fsys := fstest.MapFS{"dev.yaml": {Data: []byte("routes:\n  echo.*: [fwtest://a:1, fwtest://b:2]\n  other.*: local\n")}}
	_, err := fw.New(fw.Catalog(cat), fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.FS(fsys), config.Env("dev"), config.Dir(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := echo.Call(context.Background(), "x"); got != "remote via fwtest://a:1,fwtest://b:2" {
		t.Fatalf("routed call = %q", got)
	}
	if got, _ := other.Call(context.Background(), "x"); got != "local x" {
		t.Fatalf(`"local" must keep the command local: %q`, got)
	}
}

func TestHostAndLogger(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	rec := &recorder{}
	tr := &testTransport{name: "one", rec: rec}
	cat := catalog.New()
	a, err := fw.New(fw.Catalog(cat), fw.Logger(zap.New(core)), fw.Name("orders"), fw.Transports(tr),
		fw.ConfigOptions(config.Optional(), config.Dir(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	if tr.host.Catalog != cat || tr.host.Name != "orders" || tr.host.I18n == nil || tr.host.Config == nil || tr.host.Logger == nil {
		t.Fatalf("host = %+v", tr.host)
	}
	if logs.FilterMessage("started").FilterField(zap.String("app", "orders")).Len() != 1 {
		t.Fatalf("no start line with the app name: %v", logs.All())
	}
}

// Defaults alone run without a file; naming a directory means relying on
// one, and the error then says what to do.
func TestConfigDefaultsAlone(t *testing.T) {
	t.Parallel()
	defaults := config.Defaults(map[string]any{"app": map[string]any{"name": "from-defaults"}})
	a, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()), fw.ConfigOptions(defaults))
	if err != nil {
		t.Fatalf("New with defaults alone = %v", err)
	}
	if a.Name() != "from-defaults" || a.Config().File() != "" {
		t.Fatalf("name %q, file %q", a.Name(), a.Config().File())
	}
	_, err = fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()), fw.ConfigOptions(defaults, config.Dir(t.TempDir())))
	if !errors.Is(err, config.ErrNotFound) || !strings.Contains(err.Error(), "config.Optional()") {
		t.Fatalf("New with defaults and a directory without a file = %v, want ErrNotFound saying what to do", err)
	}
}

// errUnknownSKU is the README's quick start: a code with its English text
// and no message files.
var errUnknownSKU = errs.Define("fwtest.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown")

// The English text given to errs.Define is the code's message: a program
// without message files gets no warning. One that ships Spanish messages
// without this code does.
func TestMissingMessagesWarning(t *testing.T) {
	t.Parallel()
	spanish := fstest.MapFS{"es.toml": {Data: []byte("\"fwtest.other\" = \"Otro.\"\n")}}
	for _, tt := range []struct {
		name string
		opts []fw.Option
		want string // "" for no warning
	}{
		{"no message files", nil, ""},
		{"Spanish without the code", []fw.Option{fw.Messages(spanish, "es.toml")}, errUnknownSKU.Code() + " (es)"},
	} {
		core, logs := observer.New(zap.WarnLevel)
		a := newApp(t, append(tt.opts, fw.Logger(zap.New(core)))...)
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		a.Stop(context.Background())
		lines := logs.FilterMessage("error codes without a message in some languages").All()
		switch {
		case tt.want == "" && len(lines) > 0:
			t.Errorf("%s: unexpected warning %v", tt.name, lines[0].ContextMap())
		case tt.want != "" && (len(lines) != 1 || lines[0].ContextMap()["first"] != tt.want):
			t.Errorf("%s: warnings %v, want one naming %s", tt.name, logs.All(), tt.want)
		}
	}
}
