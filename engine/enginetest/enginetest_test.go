package enginetest_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wegomesh/wego/engine/enginetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartAndClient(t *testing.T) {
	srv := enginetest.Start(t)
	if _, err := srv.JetStream(); err != nil {
		t.Fatalf("JetStream: %v", err)
	}
	c := enginetest.Client(t, srv.ClientURL())
	if !c.Ready() || c.ClientURL() != srv.ClientURL() {
		t.Fatalf("client ready %v at %s, want ready at %s", c.Ready(), c.ClientURL(), srv.ClientURL())
	}
	core := enginetest.Start(t, enginetest.NoJetStream())
	if _, err := core.JetStream(); err == nil {
		t.Error("an engine started with NoJetStream has JetStream")
	}
}

// A Server comes back on its port and directory: a client reconnects and
// finds what it stored before the stop.
func TestServerRestart(t *testing.T) {
	srv := enginetest.NewServer(t)
	url := srv.URL()
	c := enginetest.Client(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, err := c.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if srv.Engine() != nil {
		t.Fatal("a stopped server has an engine")
	}
	if err := srv.Stop(); err != nil { // nothing to do
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); c.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the client did not see the server go")
		}
	}
	srv.Start()
	srv.Start() // nothing to do
	if srv.URL() != url || srv.Engine() == nil {
		t.Fatalf("after the restart: %s, engine %v; want %s and an engine", srv.URL(), srv.Engine(), url)
	}
	for {
		e, err := kv.Get(ctx, "k")
		if err == nil {
			if string(e.Value()) != "v" {
				t.Fatalf("k = %q after the restart, want v", e.Value())
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("k after the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFreePort(t *testing.T) {
	if a, b := enginetest.FreePort(t), enginetest.FreePort(t); a == "" || a == "0" || b == "" {
		t.Fatalf("FreePort: %q, %q", a, b)
	}
}
