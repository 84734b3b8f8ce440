package retry_test

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/retry"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  retry:
    commands:
      inventory.Reserve: {max_attempts: 4}
      inventory.*: {idempotent: true, max_attempts: 2}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.retry", retry.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	mw, err := retry.New(cfg, retry.WithClock(newClock(true)), retry.WithRand(rand.New(rand.NewPCG(1, 2))))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseClientSide(mw)
	// inventory.Reserve is idempotent through its service's entry and
	// makes 4 attempts through its own; orders.Place has no entry and is
	// not idempotent.
	for name, attempts := range map[string]int64{"inventory.Reserve": 4, "inventory.Stock": 2, "orders.Place": 1} {
		var calls atomic.Int64
		h, err := catalog.RegisterIn(cat, name, failing(&calls, -1, errs.Unavailable()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Call(context.Background(), req{}); errs.CodeOf(err) != "unavailable" {
			t.Fatalf("%s: %v", name, err)
		}
		if calls.Load() != attempts {
			t.Errorf("%s: %d attempts, want %d", name, calls.Load(), attempts)
		}
	}
}
