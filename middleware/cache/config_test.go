package cache_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/cache"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  cache:
    commands:
      inventory.Reserve: {disable: true}
      inventory.*: {ttl: 1m}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.cache", cache.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	mw, err := cache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseClientSide(mw)
	// The service's entry caches inventory.Stock; inventory.Reserve's own
	// entry turns caching off; orders.Place has no entry.
	for name, want := range map[string]int64{"inventory.Stock": 1, "inventory.Reserve": 2, "orders.Place": 2} {
		var calls atomic.Int64
		h, err := catalog.RegisterIn(cat, name, product(&calls))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := h.Call(context.Background(), req{SKU: "a"}); err != nil {
				t.Fatal(err)
			}
		}
		if calls.Load() != want {
			t.Errorf("%s: the command ran %d times for 2 calls, want %d", name, calls.Load(), want)
		}
	}
	if mw.Len("inventory.Stock") != 1 || mw.Len("inventory.Reserve") != 0 {
		t.Errorf("entries: inventory.Stock %d, inventory.Reserve %d", mw.Len("inventory.Stock"), mw.Len("inventory.Reserve"))
	}
}
