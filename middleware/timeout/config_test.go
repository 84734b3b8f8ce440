package timeout_test

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/timeout"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  timeout:
    default: 1h
    commands:
      inventory.Reserve: {timeout: 20ms}
      inventory.*: {timeout: 30m}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.timeout", timeout.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Commands) != 2 || cfg.Commands["inventory.reserve"].Timeout != 20*time.Millisecond ||
		cfg.Commands["inventory.*"].Timeout != 30*time.Minute {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	mw, err := timeout.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseClientSide(mw)
	reserve, _ := catalog.RegisterIn(cat, "inventory.Reserve", wait)
	start := time.Now()
	_, err = reserve.Call(context.Background(), req{})
	if e, ok := errs.As(err); !ok || e.Code() != "deadline_exceeded" {
		t.Fatalf("inventory.Reserve: %v, want deadline_exceeded", err)
	} else if p, _ := e.Param("timeout"); p != "20ms" {
		t.Fatalf("timeout param %q, want 20ms", p)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("inventory.Reserve took %s", d)
	}
	for name, want := range map[string]time.Duration{"inventory.Stock": 30 * time.Minute, "orders.Place": time.Hour} {
		if got, _ := cfg.For(&middleware.Spec{Name: name}); got != want {
			t.Errorf("For(%s) = %s, want %s", name, got, want)
		}
	}
}
