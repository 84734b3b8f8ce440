package newrelic_test

import (
	"context"
	"testing"
	"testing/fstest"

	nr "github.com/newrelic/go-agent/v3/newrelic"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/newrelic"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  newrelic:
    app_name: wego-test
    commands:
      inventory.Reserve: {enabled: true}
      inventory.*: {enabled: false}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, newrelic.Section, newrelic.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	// An application that records locally and sends nothing.
	app, err := nr.NewApplication(nr.ConfigEnabled(false), nr.ConfigAppName("x"), nr.ConfigLicense(license))
	if err != nil {
		t.Fatal(err)
	}
	m, err := newrelic.New(cfg, newrelic.WithApplication(app))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(m)
	// A recorded command runs in a transaction. The service's entry turns
	// recording off, inventory.Reserve's own entry back on; orders.Place
	// has no entry.
	for name, recorded := range map[string]bool{"inventory.Reserve": true, "inventory.Stock": false, "orders.Place": true} {
		h, err := catalog.RegisterIn(cat, name, func(ctx context.Context, _ int) (bool, error) {
			return nr.FromContext(ctx) != nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := h.Call(context.Background(), 0); err != nil || got != recorded {
			t.Errorf("%s: in a transaction = %v, %v; want %v", name, got, err, recorded)
		}
	}
}
