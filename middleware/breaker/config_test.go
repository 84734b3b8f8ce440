package breaker_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/breaker"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  breaker:
    local: true   # the test's commands are local
    min_requests: 100
    commands:
      inventory.Reserve: {mode: consecutive, consecutive_failures: 2}
      inventory.*: {min_requests: 3, failure_ratio: 1}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.breaker", breaker.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseClientSide(b)
	fail := func(context.Context, req) (resp, error) { return resp{}, errs.Unavailable() }
	// The number of failing calls after which each command's breaker opens.
	for name, opensAfter := range map[string]int{"inventory.Reserve": 2, "inventory.Stock": 3, "orders.Place": 100} {
		h, err := catalog.RegisterIn(cat, name, fail)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			_, err := h.Call(context.Background(), req{})
			if want := i >= opensAfter; breaker.IsOpen(err) != want {
				t.Fatalf("%s, call %d: %v; want open = %v", name, i, err, want)
			}
		}
	}
}
