package jsevents_test

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/fw"
	_ "github.com/wegomesh/wego/transport/nats" // the NATS engine
)

// An application with events.backend jetstream makes the NATS engine,
// runs its subscribers on JetStream with the settings of the section, and
// delivers what it publishes.
func TestApplication(t *testing.T) {
	cat := catalog.New()
	tp, _ := events.NewTopicIn[placed](cat, "orders.Placed")
	got := make(chan placed, 1)
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(_ context.Context, p placed) error { got <- p; return nil }); err != nil {
		t.Fatal(err)
	}
	yaml := `
events:
  backend: jetstream
  jetstream:
    ack_backoff: [5s, 10s]
    max_ack_pending: 50
    max_age: 24h
nats:
  server: {listen: "127.0.0.1:-1"}
`
	a, err := fw.New(fw.Catalog(cat), fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	if k := a.Events().Backend().Kind(); k != "jetstream" {
		t.Fatalf("backend %s", k)
	}
	ctx := catalog.NewContext(context.Background(), cat)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := a.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	if err := tp.Publish(ctx, placed{OrderID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, got); p.OrderID != "o1" {
		t.Errorf("received %+v", p)
	}
	j := js(t, a.Host().Engine.(*engine.Engine))
	c, err := j.Consumer(t.Context(), topicStream, "shipping_OnPlaced")
	if err != nil {
		t.Fatal(err)
	}
	if cc := c.CachedInfo().Config; fmt.Sprint(cc.BackOff) != "[5s 10s]" || cc.AckWait != 5*time.Second || cc.MaxAckPending != 50 {
		t.Errorf("consumer %+v", cc)
	}
	if s, err := j.Stream(t.Context(), topicStream); err != nil || s.CachedInfo().Config.MaxAge != 24*time.Hour {
		t.Errorf("stream: %v", err)
	}
}
