package fw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/registry"
	"github.com/wegomesh/wego/transport"
)

var uniqueName atomic.Int64

// serviceName returns a service name no other test uses: the memory
// registry of applications is one per process.
func serviceName(prefix string) string { return fmt.Sprintf("%s-%d", prefix, uniqueName.Add(1)) }

// endpointTransport has an endpoint, and records at its Stop whether the
// application's node was still in the registry.
type endpointTransport struct {
	name, url string
	host      transport.Host
	atStop    []registry.Node
}

func (e *endpointTransport) Name() string { return e.name }
func (e *endpointTransport) Start(_ context.Context, h transport.Host) error {
	e.host = h
	return nil
}
func (e *endpointTransport) Stop(context.Context) error {
	e.atStop, _ = e.host.Registry.Lookup(e.host.Name)
	return nil
}
func (e *endpointTransport) Endpoints() map[string]string { return map[string]string{e.name: e.url} }

func TestAppRegistersItsNode(t *testing.T) {
	t.Parallel()
	name := serviceName("inventory")
	tr := &endpointTransport{name: "http", url: "http://10.0.0.5:8081"}
	other := &endpointTransport{name: "grpc", url: "grpc://10.0.0.5:9090"}
	bad := &endpointTransport{name: "ws", url: "ws:// spaces"}
	a := newApp(t, fw.Name(name), fw.Transports(tr, other, bad))
	b := newApp(t, fw.Name(serviceName("orders"))) // another application of the process
	ctx := context.Background()
	for _, app := range []*fw.App{a, b} {
		if err := app.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	defer b.Stop(ctx)

	nodes, err := b.Host().Registry.Lookup(name)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("Lookup(%s) = %v, %v; want the application's node", name, nodes, err)
	}
	n := nodes[0]
	if n.Service != name || n.ID == "" || n.Endpoints["http"] != tr.url || n.Endpoints["grpc"] != other.url || len(n.Endpoints) != 2 || n.Metadata["pid"] == "" {
		t.Fatalf("node %+v", n)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if len(tr.atStop) != 0 || len(other.atStop) != 0 {
		t.Fatalf("the node was still registered when the transports stopped: %v", tr.atStop)
	}
	if nodes, _ := b.Host().Registry.Lookup(name); len(nodes) != 0 {
		t.Fatalf("after Stop: %v", nodes)
	}
}

func TestAppWithoutEndpointsIsNotRegistered(t *testing.T) {
	t.Parallel()
	name := serviceName("worker")
	a := newApp(t, fw.Name(name), fw.Transports(&testTransport{name: "plain", rec: &recorder{}}))
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	if nodes, err := a.Host().Registry.Lookup(name); err != nil || len(nodes) != 0 {
		t.Fatalf("Lookup = %v, %v; want nothing", nodes, err)
	}
}

func TestAppNameThatIsNoServiceName(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.WarnLevel)
	a, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.New(core)), fw.Name("my app"),
		fw.ConfigOptions(config.Optional(), config.Dir(t.TempDir())),
		fw.Transports(&endpointTransport{name: "http", url: "http://h:1"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatalf("Start = %v; an application whose name is no service name still runs", err)
	}
	defer a.Stop(context.Background())
	if logs.FilterMessageSnippet("not registered").Len() != 1 {
		t.Fatalf("no warning: %v", logs.All())
	}
}

func TestRegistrySection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		values map[string]any
		key    string
		want   string
	}{
		{map[string]any{"registry.kind": "zookeeper"}, "registry.kind", `no registry of kind "zookeeper"`},
		{map[string]any{"registry.kind": "nats"}, "registry.kind", "import github.com/wegomesh/wego/registry/natsregistry"},
		{map[string]any{"registry.ttl": "500ms"}, "registry.ttl", "at least 1s"},
		{map[string]any{"registry.heartbeat": "5s"}, "registry.ttl", "two heartbeats"},
		{map[string]any{"registry.replicas": 9}, "registry.replicas", "1 to 5"},
		{map[string]any{"registry.tll": "5s"}, "registry.tll", "registry.ttl"},
	} {
		_, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()),
			fw.ConfigOptions(config.Optional(), config.Overrides(tt.values)))
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v; want a config.Error on %s saying %q", tt.values, err, tt.key, tt.want)
		}
	}
	a := newApp(t, fw.ConfigOptions(config.Optional(), config.Overrides(map[string]any{
		"registry.kind": "memory", "registry.heartbeat": "1s", "registry.ttl": "3s"})))
	if _, ok := a.Host().Registry.(*registry.Memory); !ok {
		t.Fatalf("Host().Registry is %T, want *registry.Memory", a.Host().Registry)
	}
}
