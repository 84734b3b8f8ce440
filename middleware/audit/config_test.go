package audit_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/audit"
)

// TestCommandsFromYAML loads the section from a configuration file, as an
// application does, and checks that the per-command entries take effect.
func TestCommandsFromYAML(t *testing.T) {
	t.Parallel()
	const yaml = `
middleware:
  audit:
    all: true
    commands:
      inventory.Reserve: {audit: true, phase: before}
      inventory.*: {audit: false}
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetWithDefaults(c, "middleware.audit", audit.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Commands["inventory.reserve"]; !ok || len(cfg.Commands) != 2 {
		t.Fatalf("commands = %+v", cfg.Commands)
	}
	sink := &memSink{}
	cat := catalog.New()
	cat.UseServerSide(newAuditor(t, cfg, audit.WithSink(sink)))
	fn := func(context.Context, CloseRequest) (CloseResponse, error) { return CloseResponse{Closed: true}, nil }
	// The service's entry turns auditing off, even for a command marked
	// Auditable; inventory.Reserve's own entry turns it back on, with a
	// record before the call; orders.Place follows all: true.
	for name, phases := range map[string][]string{
		"inventory.Reserve": {audit.PhaseBefore, audit.PhaseAfter},
		"inventory.Stock":   nil,
		"orders.Place":      {audit.PhaseAfter},
	} {
		h, err := catalog.RegisterIn(cat, name, fn, catalog.With(audit.Auditable.Value(true)))
		if err != nil {
			t.Fatal(err)
		}
		before := len(sink.all())
		if _, err := h.Call(context.Background(), closeReq("A")); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range sink.all()[before:] {
			if r.Command != name {
				t.Errorf("record of %s, want %s", r.Command, name)
			}
			got = append(got, r.Phase)
		}
		if len(got) != len(phases) || (len(got) > 0 && (got[0] != phases[0] || got[len(got)-1] != phases[len(phases)-1])) {
			t.Errorf("%s: records of phases %v, want %v", name, got, phases)
		}
	}
}
