package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/registry"
)

func node(id string) registry.Node {
	return registry.Node{
		Service:   "inventory",
		ID:        id,
		Endpoints: map[string]string{"http": "http://10.0.0.1:8080"},
	}
}

func encode(t testing.TB, n registry.Node) []byte {
	t.Helper()
	b, err := registry.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeNamesTheField(t *testing.T) {
	for _, tt := range []struct {
		node registry.Node
		want string
	}{
		{registry.Node{Service: "a..b", ID: "x"}, `service "a..b"`},
		{registry.Node{Service: "inventory", ID: "x/y"}, `node inventory: invalid node: id "x/y"`},
		{registry.Node{Service: "inventory", ID: "x", Endpoints: map[string]string{"http": "http:///nohost"}}, "endpoint http:"},
		{registry.Node{Service: "inventory", ID: "x", Endpoints: map[string]string{"nats": "an id"}}, "endpoint nats:"},
		{registry.Node{Service: "inventory", ID: "x", Endpoints: map[string]string{"http": "http://h:1/" + strings.Repeat("a", 300)}}, "endpoint http: address of"},
		{registry.Node{Service: "inventory", ID: "x", Metadata: map[string]string{"a b": "v"}}, `metadata key "a b"`},
		{registry.Node{Service: strings.Repeat("s", 65), ID: "x"}, "1 to 64"},
	} {
		_, err := registry.Encode(tt.node)
		if !errors.Is(err, registry.ErrInvalidNode) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Encode(%+v) = %v, want ErrInvalidNode naming %q", tt.node, err, tt.want)
		}
	}
	// Within every per-field limit, but too big once stored.
	n := registry.Node{Service: "inventory", ID: "x", Metadata: map[string]string{}}
	for i := range 16 {
		n.Metadata[fmt.Sprintf("key%02d", i)] = strings.Repeat("v", 256)
	}
	if _, err := registry.Encode(n); !errors.Is(err, registry.ErrInvalidNode) || !strings.Contains(err.Error(), "at most 4096") {
		t.Errorf("Encode of a node over MaxEntrySize: %v", err)
	}
}

func TestDottedServices(t *testing.T) {
	// Test binaries are called "pkg.test": their application's name has a
	// dot, and the key's last dot still separates the ID.
	m, err := registry.NewMemory(registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	n := registry.Node{Service: "fw.test", ID: "a1"}
	if err := m.Register(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	nodes, err := m.Lookup("fw.test")
	if err != nil || len(nodes) != 1 || nodes[0].ID != "a1" {
		t.Fatalf("Lookup = %v, %v", nodes, err)
	}
	if err := m.Deregister(context.Background(), "fw.test", "a1"); err != nil {
		t.Fatal(err)
	}
}

func TestCacheLogsIgnoredEntriesOnce(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	c := registry.NewCache(zap.New(core))
	defer c.Close()
	if _, err := c.Lookup("inventory"); !errors.Is(err, registry.ErrNotReady) {
		t.Fatalf("Lookup before Replace: %v, want ErrNotReady", err)
	}
	v2 := []byte(`{"format":2,"service":"inventory","id":"b"}`)
	c.Replace(map[string][]byte{"inventory.a": encode(t, node("a")), "inventory.b": v2})
	c.Put("inventory.b", v2)
	c.Put("inventory.b", append([]byte(nil), v2...))
	c.Replace(map[string][]byte{"inventory.a": encode(t, node("a")), "inventory.b": v2})
	if logs.Len() != 1 {
		t.Fatalf("%d lines for one ignored entry, want 1: %v", logs.Len(), logs.All())
	}
	line := logs.All()[0]
	if ctx := line.ContextMap(); ctx["key"] != "inventory.b" || !strings.Contains(ctx["reason"].(string), "format 2") {
		t.Fatalf("line %q %v names neither the key nor the reason", line.Message, ctx)
	}
	c.Put("inventory.b", []byte("garbage")) // another reason: logged
	c.Delete("inventory.b")
	c.Put("inventory.b", v2) // gone and back: logged again
	if logs.Len() != 3 {
		t.Fatalf("%d lines, want 3: %v", logs.Len(), logs.All())
	}
	nodes, _ := c.Lookup("inventory")
	if len(nodes) != 1 || nodes[0].ID != "a" {
		t.Fatalf("Lookup = %v", nodes)
	}
}

func TestCacheWatchBeforeReady(t *testing.T) {
	c := registry.NewCache(zap.NewNop())
	defer c.Close()
	ch, err := c.Watch(t.Context(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case nodes := <-ch:
		t.Fatalf("a set before the cache is ready: %v", nodes)
	default:
	}
	c.Put("inventory.early", encode(t, node("early"))) // recorded, not sent
	c.Replace(map[string][]byte{"inventory.a": encode(t, node("a"))})
	if nodes := <-ch; len(nodes) != 1 || nodes[0].ID != "a" {
		t.Fatalf("first set %v, want [a]", nodes)
	}
	// A receiver that falls behind gets the latest set only.
	c.Put("inventory.b", encode(t, node("b")))
	c.Put("inventory.c", encode(t, node("c")))
	c.Delete("inventory.a")
	if nodes := <-ch; len(nodes) != 2 || nodes[0].ID != "b" || nodes[1].ID != "c" {
		t.Fatalf("latest set %v, want [b c]", nodes)
	}
	// A resync that changes nothing sends nothing.
	c.Replace(map[string][]byte{"inventory.b": encode(t, node("b")), "inventory.c": encode(t, node("c"))})
	select {
	case nodes := <-ch:
		t.Fatalf("a set after a resync without change: %v", nodes)
	default:
	}
}

func TestConfig(t *testing.T) {
	c, err := registry.Normalize(registry.Config{})
	if err != nil || c.Heartbeat != 2*time.Second || c.TTL != 6*time.Second || c.Replicas != 1 {
		t.Fatalf("Normalize of the zero Config = %+v, %v", c, err)
	}
	if c, _ := registry.Normalize(registry.Config{Heartbeat: 5 * time.Second}); c.TTL != 15*time.Second {
		t.Errorf("a default TTL of 3 heartbeats: %v", c.TTL)
	}
	if c, _ := registry.Normalize(registry.Config{Heartbeat: 500 * time.Millisecond, TTL: 1500 * time.Millisecond}); c.TTL != 2*time.Second {
		t.Errorf("a TTL rounded up to whole seconds: %v", c.TTL)
	}
	for _, tt := range []struct {
		cfg registry.Config
		key string
	}{
		{registry.Config{TTL: 500 * time.Millisecond}, "registry.ttl"},
		{registry.Config{Heartbeat: time.Second, TTL: time.Second}, "registry.ttl"},
		{registry.Config{Heartbeat: -1}, "registry.heartbeat"},
		{registry.Config{Replicas: 7}, "registry.replicas"},
		{registry.Config{Kind: "Not A Kind"}, "registry.kind"},
	} {
		_, err := registry.Normalize(tt.cfg)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != tt.key {
			t.Errorf("Normalize(%+v) = %v, want a *config.Error on %s", tt.cfg, err, tt.key)
		}
	}
	if got := registry.Kinds(); len(got) == 0 || got[0] != "memory" {
		t.Errorf("Kinds() = %v, want memory among them", got)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	m := lookupFixture(t)
	allocs := testing.AllocsPerRun(1000, func() {
		if nodes, _ := m.Lookup("inventory"); len(nodes) != 3 {
			t.Fatal(len(nodes))
		}
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %v times, want 0", allocs)
	}
}

func lookupFixture(tb testing.TB) *registry.Memory {
	m, err := registry.NewMemory(registry.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Close(context.Background()) })
	for _, svc := range []string{"inventory", "orders", "payments", "shipping"} {
		for i := range 3 {
			n := registry.Node{Service: svc, ID: fmt.Sprint("n", i), Endpoints: map[string]string{"http": "http://10.0.0.1:8080"}}
			if err := m.Register(context.Background(), n); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return m
}

// BenchmarkLookup measures a look-up of a service's nodes from the local
// copy; the target is 0 allocations and at most 100 ns.
func BenchmarkLookup(b *testing.B) {
	m := lookupFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if nodes, _ := m.Lookup("inventory"); len(nodes) != 3 {
			b.Fatal(len(nodes))
		}
	}
}

// BenchmarkLookupParallel is BenchmarkLookup from every core at once.
func BenchmarkLookupParallel(b *testing.B) {
	m := lookupFixture(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if nodes, _ := m.Lookup("inventory"); len(nodes) != 3 {
				b.Fatal(len(nodes))
			}
		}
	})
}
