package recovery_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/recovery"
)

// TestConfigFromYAML loads the section from a configuration file, as an
// application does, and checks that it takes effect. Recovery has no
// per-command settings: every command gets the same.
func TestConfigFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  recovery:
    max_stack_bytes: 300
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.recovery", recovery.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cmd, logs := setup(t, cfg) // registers shop.Buy in a catalog.New()
	if _, err := cmd.Call(context.Background(), Req{Fail: "string"}); err == nil {
		t.Fatal("the panic did not become an error")
	}
	if s, _ := logs.AllUntimed()[0].ContextMap()["stack"].(string); len(s) != 300 {
		t.Errorf("stack of %d bytes, want 300", len(s))
	}
	// A per-command entry is not a setting of this section.
	c, err = config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml + "    commands:\n      inventory.Reserve: {omit_stack: true}\n")}}),
		config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.GetWithDefaults(c, "middleware.recovery", recovery.DefaultConfig()); err == nil {
		t.Error("middleware.recovery.commands was accepted")
	}
}
