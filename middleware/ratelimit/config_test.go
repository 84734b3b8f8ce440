package ratelimit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/ratelimit"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  ratelimit:
    rate: 100
    commands:
      inventory.Reserve: {rate: 5}
      inventory.*: {rate: 50, max_concurrent: 7}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, ratelimit.Section, ratelimit.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	clk := &clock{t: time.Unix(1_700_000_000, 0)} // stopped: no token comes back
	lim, err := ratelimit.New(cfg, ratelimit.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	// inventory.Reserve takes its rate from its own entry and its
	// bulkhead from its service's.
	if r, b, m := lim.Effective("inventory.Reserve"); r != 5 || b != 5 || m != 7 {
		t.Errorf("Effective(inventory.Reserve) = %v, %d, %d; want 5, 5, 7", r, b, m)
	}
	cat := catalog.New()
	cat.UseServerSide(lim)
	// With the clock stopped, a command admits its burst (the rate
	// rounded up) and rejects the next call.
	for name, burst := range map[string]int{"inventory.Reserve": 5, "inventory.Stock": 50, "orders.Place": 100} {
		var ran atomic.Int64
		h := register(t, cat, name, count(&ran))
		for i := range burst {
			if _, err := h.Call(context.Background(), req{}); err != nil {
				t.Fatalf("%s: call %d: %v", name, i, err)
			}
		}
		_, err := h.Call(context.Background(), req{})
		rejected(t, err, "rate")
	}
}
