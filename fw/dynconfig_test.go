package fw_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/transport"
)

// sourceEngine is an engine that keeps configuration in a memory source,
// as the NATS engine keeps it in a key-value bucket.
type sourceEngine struct {
	rec *recorder
	src *chanSource
}

var engines = struct {
	sync.Mutex
	last *sourceEngine
}{}

func init() {
	transport.RegisterEngine("sourceengine", func(*config.Config, *zap.Logger) (transport.Engine, error) {
		e := &sourceEngine{rec: &recorder{}, src: &chanSource{changes: make(chan config.Change, 16), values: map[string][]byte{"feature.level": []byte("2")}}}
		e.src.rec = e.rec
		engines.Lock()
		engines.last = e
		engines.Unlock()
		return e, nil
	})
}

func (e *sourceEngine) Name() string                    { return "sourceengine" }
func (e *sourceEngine) Start(context.Context) error     { e.rec.add("engine:start"); return nil }
func (e *sourceEngine) Ready() bool                     { return true }
func (e *sourceEngine) Close(ctx context.Context) error { e.rec.add("engine:close"); return nil }

func (e *sourceEngine) ConfigSource(bucket string) (config.Source, error) {
	if strings.Contains(bucket, ".") {
		return nil, errors.New("not a bucket name")
	}
	e.src.bucket = bucket
	return e.src, nil
}

// chanSource is a config.Source whose changes a test sends on a channel.
type chanSource struct {
	bucket  string
	rec     *recorder
	values  map[string][]byte
	changes chan config.Change
}

func (s *chanSource) Name() string { return "bucket " + s.bucket }

func (s *chanSource) Load(context.Context) (map[string][]byte, error) {
	s.rec.add("source:load")
	return s.values, nil
}

func (s *chanSource) Watch(ctx context.Context, fn func(config.Change)) error {
	defer s.rec.add("source:stop")
	for {
		select {
		case <-ctx.Done():
			return nil
		case ch := <-s.changes:
			fn(ch)
		}
	}
}

// feature is an application's own section, watched for changes.
type feature struct {
	Level int `mapstructure:"level"`
}

func (f *feature) Validate() error {
	if f.Level < 0 {
		return config.Errorf("level", "must not be negative, got %d", f.Level)
	}
	return nil
}

// TestDynamicConfig runs an application whose config.kv names a bucket:
// the engine's source is attached once the application has started, its
// changes reach the application's subscribers, and it is detached before
// the engine closes.
func TestDynamicConfig(t *testing.T) {
	app, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()), fw.Sections("feature"),
		fw.ConfigOptions(config.Defaults(map[string]any{"feature.level": 1, "registry.kind": "memory"}),
			config.LookupEnv(func(k string) (string, bool) {
				return map[string]string{"WEGO_CONFIG_KV": "wego-config"}[k], k == "WEGO_CONFIG_KV"
			})))
	if err != nil {
		t.Fatal(err)
	}
	engines.Lock()
	e := engines.last
	engines.Unlock()
	levels := make(chan int, 10)
	stop, err := config.Watch(app.Config(), "feature", feature{}, func(f feature) { levels <- f.Level })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if got := <-levels; got != 1 {
		t.Fatalf("before Start: level %d", got)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	next := func() int {
		t.Helper()
		select {
		case l := <-levels:
			return l
		case <-time.After(5 * time.Second):
			t.Fatal("no change")
			return 0
		}
	}
	if got := next(); got != 2 {
		t.Errorf("after Start: level %d, want the bucket's 2", got)
	}
	e.src.changes <- config.Change{Key: "feature.level", Value: []byte("-1")} // refused
	e.src.changes <- config.Change{Key: "feature.level", Value: []byte("3")}
	if got := next(); got != 3 {
		t.Errorf("after a change: level %d", got)
	}
	if err := app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := e.rec.String(), "engine:start source:load source:stop engine:close"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestDynamicConfigBadBucket(t *testing.T) {
	_, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.Defaults(map[string]any{"config.kv": "wego.config"})))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "config.kv" || !strings.Contains(err.Error(), "not a bucket name") {
		t.Errorf("New = %v", err)
	}
}

// TestDynamicLogLevel changes log.level in the bucket while the
// application runs: its logger follows at once.
func TestDynamicLogLevel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app.log")
	app, err := fw.New(fw.Catalog(catalog.New()), fw.Name("levels"),
		fw.ConfigOptions(config.Defaults(map[string]any{"registry.kind": "memory", "config.kv": "wego-config",
			"log.level": "info", "log.output": []string{out}})))
	if err != nil {
		t.Fatal(err)
	}
	engines.Lock()
	e := engines.last
	engines.Unlock()
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer app.Stop(context.Background())
	logged := func() string {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	waitFor := func(what string) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); !strings.Contains(logged(), what); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("no %s in the log:\n%s", what, logged())
			}
		}
	}
	app.Logger().Debug("hidden")
	e.src.changes <- config.Change{Key: "log.level", Value: []byte("verbose")}
	waitFor(`"msg":"config: change refused; keeping the previous value","app":"levels","error":"config: log.level from bucket wego-config: unknown level \"verbose\" (want debug, info, warn or error)","key":"log.level"`)
	app.Logger().Debug("hidden")
	e.src.changes <- config.Change{Key: "log.level", Value: []byte("DEBUG")}
	waitFor(`"msg":"log level changed","app":"levels","level":"debug","was":"info"`)
	app.Logger().Debug("shown")
	if s := logged(); strings.Contains(s, "hidden") || !strings.Contains(s, "shown") {
		t.Errorf("log:\n%s", s)
	}
}

// TestDynamicRateLimit changes the rate limit in the bucket while the
// application runs: the server chain follows with no restart; a change
// that does not validate is refused, naming the key, and the limit stays.
func TestDynamicRateLimit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app.log")
	cat := catalog.New()
	catalog.RegisterIn(cat, "limits.Ping", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	app, err := fw.New(fw.Catalog(cat), fw.Name("limits"),
		fw.ConfigOptions(config.Defaults(map[string]any{"registry.kind": "memory", "config.kv": "wego-config",
			"log.output": []string{out}, "middleware.ratelimit.rate": 1, "middleware.ratelimit.burst": 1})))
	if err != nil {
		t.Fatal(err)
	}
	engines.Lock()
	e := engines.last
	engines.Unlock()
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer app.Stop(context.Background())
	// admitted counts which of n calls in a row the limiter lets through.
	admitted := func(n int) int {
		ok := 0
		for range n {
			var resp struct{}
			if err := cat.Call(t.Context(), "limits.Ping", &struct{}{}, &resp); err == nil {
				ok++
			} else if errs.KindOf(err) != errs.KindResourceExhausted {
				t.Fatalf("call: %v", err)
			}
		}
		return ok
	}
	if got := admitted(10); got != 1 {
		t.Fatalf("burst 1: %d of 10 calls admitted", got)
	}
	waitFor := func(what string) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			b, _ := os.ReadFile(out)
			if strings.Contains(string(b), what) {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("no %s in the log:\n%s", what, b)
			}
		}
	}
	e.src.changes <- config.Change{Key: "middleware.ratelimit.burst", Value: []byte("-5")}
	waitFor(`"key":"middleware.ratelimit.burst"`)
	if got := admitted(10); got > 1 {
		t.Fatalf("after a refused change: %d of 10 calls admitted, want the old limit", got)
	}
	e.src.changes <- config.Change{Key: "middleware.ratelimit.burst", Value: []byte("100")}
	waitFor(`"msg":"middleware settings changed","app":"limits","middleware":"ratelimit"`)
	if got := admitted(10); got != 10 {
		t.Fatalf("burst 100: %d of 10 calls admitted", got)
	}
}
