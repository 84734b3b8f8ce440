package natsstore_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/natsstore"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// Two applications with store.kind nats on one NATS server share their
// records: what one writes, the other's watch reports.
func TestApplications(t *testing.T) {
	url := shared.ClientURL()
	t.Cleanup(func() { // after the applications stop: a test run again starts empty
		if js, err := shared.JetStream(); err == nil {
			_ = js.DeleteKeyValue(context.Background(), "apps")
		}
	})
	app := func(name string) *fw.App {
		t.Helper()
		a, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()), fw.Transports(natstransport.NewServer()),
			fw.ConfigOptions(config.Optional(), config.Overrides(map[string]any{
				"app.name": name, "nats.urls": []string{url}, "store.kind": "nats", "store.name": "apps",
			})))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Stop(context.Background()) })
		return a
	}
	orders, billing := app("orders"), app("billing")
	if _, ok := orders.Store().(*natsstore.Store); !ok {
		t.Fatalf("the application's store is %T, want *natsstore.Store", orders.Store())
	}
	ch, err := billing.Store().Watch(t.Context(), "order.")
	if err != nil {
		t.Fatal(err)
	}
	wantKinds(t, ch, store.EventSynced)
	rev, err := orders.Store().Put(t.Context(), "order.1", []byte("paid"), store.PutOptions{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ev := wantKinds(t, ch, store.EventPut)[0]
	if ev.Record.Key != "order.1" || ev.Record.Revision != rev || string(ev.Record.Value) != "paid" || ev.Record.Expires.IsZero() {
		t.Fatalf("billing's watch reported %+v", ev.Record)
	}
}
