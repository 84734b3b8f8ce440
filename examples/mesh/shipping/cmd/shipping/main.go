// Command shipping runs the example shipping service: it makes one
// shipment for each order that orders places, from the event
// orders.OrderPlaced, and serves GET /shipments/{order_id} on
// 127.0.0.1:8083, reachable from this machine only, and over NATS.
//
// With the built-in configuration (WEGO_ENV=dev) it connects to the NATS
// server that inventory embeds at 127.0.0.1:4222 (WEGO_NATS_URLS points
// elsewhere) and receives the events through it (events.backend). Every
// replica joins the group shipping.OnOrderPlaced, so replicas share the
// events. With WEGO_ENV=single shipping runs inside the orders binary
// instead, on the in-process backend.
//
// WEGO_HTTP_ADDR=127.0.0.1:9083 moves the HTTP server (WEGO_HTTP_ADDR=:8083
// listens on every interface, to expose it).
package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"

	"github.com/wegomesh/wego/config"
	_ "github.com/wegomesh/wego/events/jsevents"   // events.backend jetstream
	_ "github.com/wegomesh/wego/events/natsevents" // events.backend nats
	"github.com/wegomesh/wego/examples/mesh/internal/devtoken"
	"github.com/wegomesh/wego/examples/mesh/shipping"
	"github.com/wegomesh/wego/examples/mesh/shipping/service"
	"github.com/wegomesh/wego/fw"
	_ "github.com/wegomesh/wego/store/boltstore" // store.kind bbolt
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

//go:embed config/*.yaml
var defaults embed.FS

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "shipping:", err)
		os.Exit(1)
	}
}

func run() error {
	embedded, err := fs.Sub(defaults, "config")
	if err != nil {
		return err
	}
	cfg, err := config.Load(config.FS(embedded))
	if err != nil {
		return err
	}
	server := httptransport.NewServer()
	transports := []transport.Transport{server}
	if cfg.IsSet("nats") {
		transports = append(transports, natstransport.NewServer()) // shipping.Get over NATS too
	}
	app, err := fw.New(
		fw.WithConfig(cfg),
		fw.Messages(shipping.Messages, "locales/*.toml"),
		fw.Transports(transports...),
		fw.AfterStart(func(context.Context) error {
			base := server.URL()
			fmt.Printf("shipping listening on %s (events: %s)\n", base, cfg.String("events.backend"))
			authz := ""
			if tok := devtoken.For(cfg, "alice", "orders"); tok != "" {
				fmt.Printf("  SHIP=%s   # alice, scope orders, for 1h (wego token mints others)\n", tok)
				authz = ` -H "Authorization: Bearer $SHIP"`
			}
			fmt.Printf("  curl %s/shipments/<order_id>%s\n", base, authz)
			return nil
		}),
	)
	if err != nil {
		return err
	}
	if err := service.Setup(app.Catalog()); err != nil {
		return err
	}
	return app.Run(context.Background())
}
