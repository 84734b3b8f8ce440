package requestid_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/requestid"
)

// TestConfigFromYAML loads the section from a configuration file, as an
// application does. Request ids have no per-command settings: the header
// is the transports', and every command gets an id.
func TestConfigFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  requestid:
    header: X-Correlation-Id
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.requestid", requestid.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HeaderName() != "X-Correlation-Id" {
		t.Errorf("HeaderName() = %q", cfg.HeaderName())
	}
	mw, err := requestid.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(mw)
	if s, err := observe(t, cat, "inventory.Reserve").Call(context.Background(), ""); err != nil || s.ID == "" || s.Command != "inventory.Reserve" {
		t.Errorf("inventory.Reserve saw %+v, %v; want a request id", s, err)
	}
}
