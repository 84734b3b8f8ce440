package validate_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/validate"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  validate:
    commands:
      inventory.Reserve: {enabled: true}
      inventory.*: {enabled: false}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, validate.Section, validate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	mw, err := validate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(mw)
	// The service's entry turns validation off, inventory.Reserve's own
	// entry back on; orders.Place follows enabled (true by default).
	for name, checked := range map[string]bool{"inventory.Reserve": true, "inventory.Stock": false, "orders.Place": true} {
		h, err := catalog.RegisterIn(cat, name, func(context.Context, reserveReq) (reserveResp, error) { return reserveResp{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Call(context.Background(), reserveReq{}) // no sku, no qty: invalid
		if got := errs.CodeOf(err) == "invalid_argument"; got != checked {
			t.Errorf("%s: %v; want validated = %v", name, err, checked)
		}
	}
}
