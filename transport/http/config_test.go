package httptransport_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wegomesh/wego/config"
	httptransport "github.com/wegomesh/wego/transport/http"
)

func TestServerReadsConfigSection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cfg, err := config.Load(config.Optional(), config.Dir(t.TempDir()), config.LookupEnv(func(string) (string, bool) { return "", false }),
		config.Overrides(map[string]any{"http.addr": "127.0.0.1:0", "http.max_body_bytes": 64}))
	if err != nil {
		t.Fatal(err)
	}
	f.host.Config = cfg
	s := httptransport.NewServer()
	if err := s.Start(context.Background(), f.host); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("addr %q", s.Addr())
	}
	r := do(t, nil, "POST", "http://"+s.Addr()+"/inventory/reserve", jsonCT, `{"sku":"`+strings.Repeat("a", 64)+`","qty":1}`)
	if r.status != 413 {
		t.Errorf("max_body_bytes from config: status %d", r.status)
	}

	bad, err := config.Load(config.Optional(), config.Dir(t.TempDir()), config.LookupEnv(func(string) (string, bool) { return "", false }),
		config.Overrides(map[string]any{"http.read_timeout": "soon"}))
	if err != nil {
		t.Fatal(err)
	}
	f.host.Config = bad
	if err := httptransport.NewServer().Start(context.Background(), f.host); err == nil || !strings.Contains(err.Error(), "http.read_timeout") {
		t.Errorf("bad value: %v", err)
	}
	if _, err := httptransport.NewClientFromConfig(bad); err != nil {
		t.Errorf("client with an unrelated bad key: %v", err)
	}
}
