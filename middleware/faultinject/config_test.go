package faultinject_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/faultinject"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  faultinject:
    enabled: true
    seed: 1
    commands:
      inventory.Reserve: {error_rate: 1, error_code: not_found}
      inventory.*: {error_rate: 1}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, faultinject.Section, faultinject.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	in, err := faultinject.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(in)
	// The most specific entry applies: inventory.Reserve fails with its
	// own code, inventory.Stock with the service's (the default code),
	// and orders.Place, which no entry matches, runs.
	for name, want := range map[string]string{"inventory.Reserve": "not_found", "inventory.Stock": "unavailable", "orders.Place": ""} {
		h, err := catalog.RegisterIn(cat, name, func(context.Context, int) (int, error) { return 1, nil })
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Call(context.Background(), 1)
		if errs.CodeOf(err) != want {
			t.Errorf("%s: %v, want code %q", name, err, want)
		}
	}
}
