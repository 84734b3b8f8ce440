package natsregistry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/registry"
	"github.com/wegomesh/wego/registry/natsregistry"
	"github.com/wegomesh/wego/registry/registrytest"
	httptransport "github.com/wegomesh/wego/transport/http"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// open returns a started registry on eng, closed when the test ends.
func open(t *testing.T, eng *engine.Engine, cfg registry.Config, logger *zap.Logger) *natsregistry.Registry {
	t.Helper()
	if logger == nil {
		logger = zap.NewNop()
	}
	r, err := natsregistry.New(eng, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registrytest.Harness {
		srv := enginetest.Start(t)
		return registrytest.Harness{
			New: func(t *testing.T, cfg registry.Config) registry.Registry {
				r, err := natsregistry.New(enginetest.Client(t, srv.ClientURL()), cfg, zap.NewNop())
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				return r
			},
			PutRaw: func(t *testing.T, key string, value []byte) {
				js, _ := srv.JetStream()
				kv, err := js.KeyValue(t.Context(), natsregistry.Bucket)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := kv.Put(t.Context(), key, value); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}

func node(id string) registry.Node {
	return registry.Node{Service: "inventory", ID: id, Endpoints: map[string]string{"http": "http://10.0.0.1:8080"}}
}

func cfg() registry.Config {
	return registry.Config{Heartbeat: registrytest.Heartbeat, TTL: registrytest.TTL}
}

// ids waits for the next set from ch whose IDs are want, failing after d.
func ids(t *testing.T, ch <-chan []registry.Node, d time.Duration, want ...string) {
	t.Helper()
	deadline := time.After(d)
	var last []string
	for {
		select {
		case nodes, ok := <-ch:
			if !ok {
				t.Fatal("the watch closed")
			}
			last = last[:0]
			for _, n := range nodes {
				last = append(last, n.ID)
			}
			if strings.Join(last, ",") == strings.Join(want, ",") {
				return
			}
		case <-deadline:
			t.Fatalf("watch after %s: last %v, want %v", d, last, want)
		}
	}
}

// TestWatchSurvivesAServerRestart stops the NATS server under two
// registries, as a crash or an upgrade would, and starts it again on the
// same port with the same storage: the watch delivers what changed while
// it was down, and every change after.
func TestWatchSurvivesAServerRestart(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	srv := enginetest.NewServer(t)
	url := srv.URL()

	writer := open(t, enginetest.Client(t, url), cfg(), nil)
	killed := open(t, enginetest.Client(t, url), cfg(), nil)
	reader := open(t, enginetest.Client(t, url), cfg(), zap.New(core))
	for _, r := range []struct {
		reg *natsregistry.Registry
		id  string
	}{{writer, "a"}, {killed, "k"}} {
		if err := r.reg.Register(t.Context(), node(r.id)); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := reader.Watch(t.Context(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	ids(t, ch, registrytest.Slack, "a", "k")

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	// While the server is down, one node's process dies: its entry is not
	// refreshed and expires, which the reader learns once the server is
	// back. Lookup keeps the last set meanwhile.
	_ = killed.Close(t.Context())
	time.Sleep(registrytest.TTL + registrytest.Heartbeat)
	if nodes, err := reader.Lookup("inventory"); err != nil || len(nodes) != 2 {
		t.Fatalf("Lookup while disconnected = %v, %v; want the last set", nodes, err)
	}
	srv.Start()
	ids(t, ch, 5*time.Second, "a")
	if logs.FilterMessage("natsregistry: reconnected; reading the bucket again").Len() == 0 {
		t.Errorf("no line about reading the bucket again: %v", logs.All())
	}

	// Changes after the restart arrive as before.
	if err := writer.Register(t.Context(), node("b")); err != nil {
		t.Fatal(err)
	}
	ids(t, ch, registrytest.Slack, "a", "b")
	if err := writer.Deregister(t.Context(), "inventory", "a"); err != nil {
		t.Fatal(err)
	}
	ids(t, ch, registrytest.Slack, "b")
	// The live node outlives its TTL: its heartbeats resumed.
	select {
	case nodes := <-ch:
		t.Fatalf("a change without cause: %v", nodes)
	case <-time.After(registrytest.TTL + registrytest.Slack):
	}
}

// TestBucketLost deletes the bucket under running registries: the next
// heartbeat makes it again with the node, and the watches, which see no
// change (the node never left), follow the new bucket.
func TestBucketLost(t *testing.T) {
	srv := enginetest.Start(t)
	writer := open(t, enginetest.Client(t, srv.ClientURL()), cfg(), nil)
	reader := open(t, enginetest.Client(t, srv.ClientURL()), cfg(), nil)
	if err := writer.Register(t.Context(), node("a")); err != nil {
		t.Fatal(err)
	}
	ch, err := reader.Watch(t.Context(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	ids(t, ch, registrytest.Slack, "a")
	js, _ := srv.JetStream()
	if err := js.DeleteKeyValue(t.Context(), natsregistry.Bucket); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(registrytest.Slack)
	for {
		kv, err := js.KeyValue(t.Context(), natsregistry.Bucket)
		if err == nil {
			if _, err = kv.Get(t.Context(), "inventory.a"); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node is not back in a new bucket after %s: %v", registrytest.Slack, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := writer.Register(t.Context(), node("b")); err != nil {
		t.Fatal(err)
	}
	ids(t, ch, registrytest.TTL+registrytest.Slack, "a", "b")
}

func TestStartErrors(t *testing.T) {
	t.Run("engine not started", func(t *testing.T) {
		e, err := engine.New(engine.DefaultConfig(), zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		r, err := natsregistry.New(e, registry.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "not started") {
			t.Fatalf("Start = %v", err)
		}
		if err := r.Register(t.Context(), node("a")); err == nil {
			t.Fatal("Register before Start succeeded")
		}
		if _, err := r.Lookup("inventory"); !errors.Is(err, registry.ErrNotReady) {
			t.Fatalf("Lookup before Start = %v, want ErrNotReady", err)
		}
		if err := r.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("JetStream off", func(t *testing.T) {
		r, err := natsregistry.New(enginetest.Start(t, enginetest.NoJetStream()), registry.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(t.Context())
		if err := r.Start(t.Context()); !errors.Is(err, engine.ErrNoJetStream) {
			t.Fatalf("Start = %v, want ErrNoJetStream", err)
		}
	})
	t.Run("bucket without TTLs", func(t *testing.T) {
		srv := enginetest.Start(t)
		js, _ := srv.JetStream()
		if _, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: natsregistry.Bucket}); err != nil {
			t.Fatal(err)
		}
		r, err := natsregistry.New(srv, registry.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(t.Context())
		if err := r.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "nats kv rm "+natsregistry.Bucket) {
			t.Fatalf("Start = %v, want the remedy", err)
		}
	})
	t.Run("bad configuration", func(t *testing.T) {
		if _, err := natsregistry.New(nil, registry.Config{}, nil); err == nil {
			t.Fatal("New without an engine succeeded")
		}
		e, _ := engine.New(engine.DefaultConfig(), nil)
		if _, err := natsregistry.New(e, registry.Config{TTL: time.Millisecond}, nil); err == nil || !strings.Contains(err.Error(), "registry.ttl") {
			t.Fatalf("New with a bad TTL = %v", err)
		}
	})
}

func TestKindNats(t *testing.T) {
	f, ok := registry.FactoryOf("nats")
	if !ok {
		t.Fatal("the kind nats is not registered")
	}
	if _, err := f(registry.Config{}, nil, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "nats section") {
		t.Fatalf("without an engine: %v", err)
	}
	e, _ := engine.New(engine.DefaultConfig(), nil)
	r, err := f(registry.Config{}, e, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(registry.Starter); !ok {
		t.Fatalf("%T is not a registry.Starter", r)
	}
	_ = r.Close(t.Context())
}

// app starts an application with an HTTP server on a free port and a NATS
// server, from
// configuration values, as a process would from its file.
func app(t *testing.T, logger *zap.Logger, values map[string]any) *fw.App {
	t.Helper()
	values["http.addr"] = "127.0.0.1:0"
	a, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(logger), fw.Transports(httptransport.NewServer(), natstransport.NewServer()),
		fw.ConfigOptions(config.Optional(), config.Overrides(values)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

// Applications with the NATS engine register in the NATS registry by
// default, and one that stops is gone for the others at once.
func TestApplications(t *testing.T) {
	srv := enginetest.Start(t)
	nats := map[string]any{"nats.urls": []string{srv.ClientURL()}, "registry.heartbeat": "200ms", "registry.ttl": "5s"}
	with := func(name string) map[string]any {
		v := map[string]any{"app.name": name}
		for k, x := range nats {
			v[k] = x
		}
		return v
	}
	inv := app(t, zap.NewNop(), with("inventory"))
	orders := app(t, zap.NewNop(), with("orders"))
	if _, ok := orders.Host().Registry.(*natsregistry.Registry); !ok {
		t.Fatalf("the registry is %T, want the NATS one", orders.Host().Registry)
	}
	ch, err := orders.Host().Registry.Watch(t.Context(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	var nodes []registry.Node
	for deadline := time.After(registrytest.Slack); len(nodes) == 0; {
		select {
		case nodes = <-ch:
		case <-deadline:
			t.Fatal("inventory is not registered")
		}
	}
	if u := nodes[0].Endpoints["http"]; !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("inventory's HTTP endpoint %q", u)
	}
	if nodes[0].Endpoints["nats"] == "" {
		t.Fatalf("inventory's NATS endpoint is missing: %v", nodes[0].Endpoints)
	}
	began := time.Now()
	if err := inv.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	ids(t, ch, registrytest.Slack, []string{}...)
	if d := time.Since(began); d > time.Second {
		t.Fatalf("a stopped application gone after %s; the TTL is 5s, a deregistration is at once", d)
	}
}

// Without JetStream, an application that did not ask for the NATS
// registry starts all the same, says why it is alone, and finds itself.
func TestApplicationWithoutJetStream(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	a := app(t, zap.New(core), map[string]any{"app.name": "alone", "nats.server.listen": "127.0.0.1:-1", "nats.server.jetstream": false})
	if logs.FilterMessageSnippet("no JetStream").Len() != 1 {
		t.Fatalf("no warning: %v", logs.All())
	}
	if nodes, err := a.Host().Registry.Lookup("alone"); err != nil || len(nodes) != 1 {
		t.Fatalf("Lookup of its own node = %v, %v", nodes, err)
	}
	// Asked for explicitly, the NATS registry fails the start, saying why.
	b, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()), fw.ConfigOptions(config.Optional(), config.Overrides(
		map[string]any{"nats.server.listen": "127.0.0.1:-1", "nats.server.jetstream": false, "registry.kind": "nats"})))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "set registry.kind to memory") {
		t.Fatalf("Start = %v", err)
	}
}
