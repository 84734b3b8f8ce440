package logging_test

import (
	"context"
	"testing"
	"testing/fstest"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/logging"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  logging:
    commands:
      inventory.Reserve: {skip: true}
      inventory.*: {success_level: info}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.logging", logging.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	mw, err := logging.New(cfg, logging.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(mw)
	// inventory.Reserve is skipped by its own entry; inventory.Stock logs
	// successes at info, from its service's entry; orders.Place at debug,
	// the default.
	for name, want := range map[string][]zapcore.Level{
		"inventory.Reserve": nil,
		"inventory.Stock":   {zapcore.InfoLevel},
		"orders.Place":      {zapcore.DebugLevel},
	} {
		h, err := catalog.RegisterIn(cat, name, func(context.Context, int) (int, error) { return 1, nil })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Call(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		var got []zapcore.Level
		for _, e := range logs.TakeAll() {
			got = append(got, e.Level)
		}
		if len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
			t.Errorf("%s: lines at %v, want %v", name, got, want)
		}
	}
}

// client_errors given in part keeps the defaults of the keys it does not
// give; max_error_bytes is read.
func TestClientErrorsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  logging:
    max_error_bytes: 64
    client_errors: {thereafter: 1}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.logging", logging.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if ce := cfg.ClientErrors; ce == nil || ce.Initial != logging.DefaultClientErrors.Initial || ce.Thereafter != 1 || cfg.MaxErrorBytes != 64 {
		t.Fatalf("client_errors %+v, max_error_bytes %d", ce, cfg.MaxErrorBytes)
	}
	if _, err := logging.New(cfg); err != nil {
		t.Fatal(err)
	}
	if d := logging.DefaultConfig(); d.ClientErrors == &logging.DefaultClientErrors {
		t.Error("DefaultConfig shares DefaultClientErrors")
	}
}
