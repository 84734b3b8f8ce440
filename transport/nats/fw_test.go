package natstransport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/transport"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// app starts an application from configuration values, as a process
// would from its file.
func app(t *testing.T, cat *catalog.Catalog, values map[string]any, ts ...transport.Transport) *fw.App {
	t.Helper()
	a, err := fw.New(fw.Catalog(cat), fw.Logger(zap.NewNop()), fw.Transports(ts...),
		fw.ConfigOptions(config.Optional(), config.Overrides(values)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	return a
}

// Two applications, as two processes: inventory embeds the NATS server
// and serves over NATS; orders connects to it and routes inventory's
// commands over NATS by configuration, with no address of inventory.
func TestApplicationsOverNATS(t *testing.T) {
	inv := app(t, fixture(t, "inventory-1", nil, nil), map[string]any{
		"app.name": "inventory", "nats.server.listen": "127.0.0.1:-1", "nats.server.jetstream": false,
	}, natstransport.NewServer())
	url := inv.Host().Engine.(*engine.Engine).ClientURL()

	orders := catalog.New()
	reserve, err := catalog.DeclareIn[ReserveRequest, ReserveResponse](orders, "inventory.Reserve")
	if err != nil {
		t.Fatal(err)
	}
	app(t, orders, map[string]any{
		"app.name": "orders", "nats.urls": []string{url}, "routes.inventory.*": "nats://inventory",
	})
	r, err := reserve.Call(context.Background(), ReserveRequest{SKU: "apple"})
	if err != nil || r.Server != "inventory-1" {
		t.Fatalf("call over NATS: %+v, %v", r, err)
	}
	_, err = reserve.Call(context.Background(), ReserveRequest{SKU: "unknown"})
	if !errors.Is(err, ErrUnknownSKU) {
		t.Fatalf("typed error over NATS: %v", err)
	}
}

func TestNATSSectionWrongValue(t *testing.T) {
	_, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.Optional(), config.Overrides(map[string]any{"nats.server.listen": "nowhere"})))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "nats.server.listen" {
		t.Fatalf("error %v, want a config.Error naming nats.server.listen", err)
	}
}
