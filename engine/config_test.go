package engine

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/config"
)

func TestDefaultConfigIsValidAndEmbedded(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.embedded() || c.Server.Listen != "127.0.0.1:4222" || !c.Server.JetStream || c.MaxReconnects != -1 {
		t.Fatalf("defaults: %+v", c)
	}
}

func loadYAML(t *testing.T, yaml string) (Config, error) {
	t.Helper()
	c, err := config.Load(config.Env("dev"), config.Dir(t.TempDir()),
		config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}),
		config.LookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	return LoadConfig(c)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadYAML(t, `
nats:
  urls: [nats://a:4222, "b:4222"]
  name: orders
  reconnect_wait: 250ms
  max_reconnects: 10
  wait_at_start: true
  tls: {ca: ca.pem}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.URLs) != 2 || cfg.Name != "orders" || cfg.ReconnectWait != 250*time.Millisecond ||
		cfg.MaxReconnects != 10 || !cfg.WaitAtStart || cfg.TLS.CA != "ca.pem" || cfg.embedded() {
		t.Fatalf("loaded %+v", cfg)
	}
	if cfg.DrainTimeout != 10*time.Second || cfg.Server.Listen != "127.0.0.1:4222" {
		t.Fatalf("defaults lost: %+v", cfg)
	}

	cfg, err = loadYAML(t, `
nats:
  embedded: true
  server:
    name: n1
    listen: 0.0.0.0:4222
    store_dir: /var/lib/wego
    cluster: {name: mesh, listen: ":6222", routes: ["nats-route://n2:6222"]}
`)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.embedded() || cfg.Server.Cluster.Routes[0] != "nats-route://n2:6222" || cfg.Server.StoreDir != "/var/lib/wego" {
		t.Fatalf("loaded %+v", cfg)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		yaml, key, want string
	}{
		{"nats: {server: {listen: localhost}}", "nats.server.listen", "not host:port"},
		{"nats: {server: {listen: 'localhost:70000'}}", "nats.server.listen", "not a TCP port"},
		{"nats: {urls: ['http://a:4222']}", "nats.urls", "scheme"},
		{"nats: {urls: ['nats://a:4222'], embedded: true}", "nats.embedded", "exclude each other"},
		{"nats: {credentials: app.creds}", "nats.credentials", "in-process"},
		{"nats: {urls: [nats://a], tls: {cert: c.pem}}", "nats.tls.key", "without its key"},
		{"nats: {max_reconnects: -2}", "nats.max_reconnects", "-1"},
		{"nats: {drain_timeout: 0s}", "nats.drain_timeout", "positive"},
		{"nats: {server: {max_payload: 100000000}}", "nats.server.max_payload", "64 MiB"},
		{"nats: {server: {sync_interval: sometimes}}", "nats.server.sync_interval", "always"},
		{"nats: {server: {sync_interval: -1s}}", "nats.server.sync_interval", "positive duration"},
		{"nats: {server: {cluster: {routes: ['nats-route://b:6222']}}}", "nats.server.cluster.listen", "routes"},
		{"nats: {server: {cluster: {listen: ':6222', routes: ['b:6222']}}}", "nats.server.cluster.name", "JetStream"},
		{"nats: {server: {cluster: {listen: ':6222', name: c}}}", "nats.server.name", "unique"},
		{"nats: {server: {jetstream: false, cluster: {listen: ':6222', routes: ['http://b']}}}", "nats.server.cluster.routes", "scheme"},
	} {
		_, err := loadYAML(t, tc.yaml)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != tc.key || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want key %s and %q", tc.yaml, err, tc.key, tc.want)
		}
	}
}

func TestValidateWithoutConfigNamesTheSection(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Server.Listen = "nowhere"
	_, err := Start(t.Context(), cfg, nil)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "nats.server.listen" || !strings.Contains(err.Error(), "nats.server.listen") {
		t.Fatalf("got %v", err)
	}
}

func TestRedact(t *testing.T) {
	if got := redact("nats://u:secret@h:4222"); strings.Contains(got, "secret") {
		t.Fatal(got)
	}
	if got := redact("h:4222"); got != "nats://h:4222" {
		t.Fatal(got)
	}
}
