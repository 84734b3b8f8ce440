package fw_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing/fstest"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/middleware"
)

// CounterConfig is the section middleware.counter of the configuration.
type CounterConfig struct {
	// Skip lists the commands not to count.
	Skip []string `mapstructure:"skip"`
}

// Counter counts the calls of each command that reach it.
type Counter struct {
	cfg   CounterConfig
	mu    sync.Mutex
	calls map[string]int
}

// Wrap is called once per command and chain, when the chain is built: for
// a skipped command it adds nothing (nil), which costs nothing per call.
func (c *Counter) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if slices.Contains(c.cfg.Skip, spec.Name) {
		return nil
	}
	name := spec.Name // read the spec here, not per call
	return func(ctx context.Context, call *middleware.Call) error {
		c.mu.Lock()
		c.calls[name]++
		c.mu.Unlock()
		return next(ctx, call)
	}
}

// Calls returns how many calls of command the counter saw.
func (c *Counter) Calls(command string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[command]
}

// A custom middleware added to the default server chain, right inside
// logging, and configured from its own section. Its factory reads the
// section; fw.After places it without listing the whole chain.
func ExampleMiddleware() {
	var counter *Counter
	factory := func(a *fw.App) (middleware.Middleware, error) {
		cfg, err := config.GetWithDefaults(a.Config(), "middleware.counter", CounterConfig{})
		if err != nil {
			return nil, err // an unknown key or a wrong type, naming the key and the file
		}
		counter = &Counter{cfg: cfg, calls: map[string]int{}}
		return counter, nil
	}

	cat := catalog.New() // programs usually serve catalog.Default
	greet, _ := catalog.RegisterIn(cat, "hello.Greet", func(_ context.Context, name string) (string, error) {
		return "hello " + name, nil
	})
	ping, _ := catalog.RegisterIn(cat, "hello.Ping", func(context.Context, struct{}) (string, error) {
		return "pong", nil
	})
	yaml := "middleware:\n  counter:\n    skip: [hello.Ping]\n"
	app, err := fw.New(
		fw.Catalog(cat),
		fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir("testdata/none")),
		fw.Middleware("counter", factory, fw.After("logging")),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	server, _ := app.ChainNames()
	fmt.Println(strings.Join(server, " → "))

	ctx := context.Background()
	greet.Call(ctx, "gopher")
	greet.Call(ctx, "gophers")
	ping.Call(ctx, struct{}{})
	fmt.Println("hello.Greet:", counter.Calls("hello.Greet"))
	fmt.Println("hello.Ping:", counter.Calls("hello.Ping"))
	// Output:
	// recovery → requestid → auth → logging → counter → deadline → audit → ratelimit → faultinject → validate → idempotency
	// hello.Greet: 2
	// hello.Ping: 0
}
