// Command orders runs the example orders service: POST /orders and
// GET /orders/{id} on 127.0.0.1:8080, reachable from this machine only.
//
// With the built-in configuration (WEGO_ENV=dev) it calls inventory over
// NATS, connecting to the NATS server that inventory embeds at
// 127.0.0.1:4222 (WEGO_NATS_URLS points elsewhere), as the routes section
// says: no address of inventory appears anywhere. With WEGO_ENV=single
// there is no route: the inventory commands, linked into this binary, run
// in this process, and this server exposes them too. The code is the same
// either way.
//
// Orders publishes orders.OrderPlaced for every order (events.backend:
// NATS core in dev). Shipping receives it: in its own deployable in dev,
// where this server answers GET /shipments/{order_id} by calling it over
// NATS (routes.shipping.*), and in this process with WEGO_ENV=single, on
// the in-process backend.
//
// WEGO_HTTP_ADDR=127.0.0.1:9080 moves the server (WEGO_HTTP_ADDR=:8080
// listens on every interface, to expose it); the variable of the route's key,
// WEGO_ROUTES_INVENTORY_*=http://127.0.0.1:8081 (set with env(1)), sends
// the inventory calls over HTTP instead.
package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wegomesh/wego/config"
	_ "github.com/wegomesh/wego/events/jsevents"   // events.backend jetstream
	_ "github.com/wegomesh/wego/events/natsevents" // events.backend nats
	"github.com/wegomesh/wego/examples/mesh/internal/devtoken"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	inventorysvc "github.com/wegomesh/wego/examples/mesh/inventory/service"
	"github.com/wegomesh/wego/examples/mesh/orders"
	orderssvc "github.com/wegomesh/wego/examples/mesh/orders/service" // registers the orders commands
	"github.com/wegomesh/wego/examples/mesh/shipping"
	shippingsvc "github.com/wegomesh/wego/examples/mesh/shipping/service"
	"github.com/wegomesh/wego/fw"
	_ "github.com/wegomesh/wego/store/boltstore" // store.kind bbolt
	httptransport "github.com/wegomesh/wego/transport/http"
	_ "github.com/wegomesh/wego/transport/nats" // the NATS engine and nats:// routes
)

//go:embed config/*.yaml
var defaults embed.FS

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

func run() error {
	embedded, err := fs.Sub(defaults, "config")
	if err != nil {
		return err
	}
	server := httptransport.NewServer()
	mode, local := "inventory runs in this process", true
	var app *fw.App
	outboxCtx, stopOutbox := context.WithCancel(context.Background())
	defer stopOutbox()
	var outbox sync.WaitGroup
	app, err = fw.New(
		fw.ConfigOptions(config.FS(embedded)),
		fw.Sections("inventory"),
		fw.Messages(orders.Messages, "locales/*.toml"),
		fw.Messages(inventory.Messages, "locales/*.toml"),
		fw.Messages(shipping.Messages, "locales/*.toml"),
		fw.Transports(server),
		fw.AfterStart(func(context.Context) error {
			printCurls(os.Stdout, server.URL(), mode, local, devtoken.For(app.Config(), "alice", "orders"))
			return nil
		}),
		// The outbox republishes the OrderPlaced events whose publish
		// failed, while the application runs.
		fw.AfterStart(func(context.Context) error {
			outbox.Add(1)
			go func() {
				defer outbox.Done()
				orderssvc.RunOutbox(outboxCtx, app.Catalog(), outboxEvery)
			}()
			return nil
		}),
		fw.BeforeStop(func(context.Context) error {
			stopOutbox()
			outbox.Wait()
			return nil
		}),
	)
	if err != nil {
		return err
	}
	if err := orderssvc.Setup(app.Catalog()); err != nil {
		return err
	}
	if inventory.Reserve.Routed() {
		mode, local = "inventory is called through "+app.Config().String("routes.inventory.*"), false
	} else if err := inventorysvc.Setup(app.Catalog(), app.Config()); err != nil {
		return err
	}
	if !shipping.Get.Routed() {
		// No route to a shipping service: shipping runs here, and
		// receives orders' events in this process.
		mode = strings.Replace(mode, "inventory runs", "inventory and shipping run", 1)
		if err := shippingsvc.Setup(app.Catalog()); err != nil {
			return err
		}
	}
	return app.Run(context.Background())
}

// outboxEvery is how often the outbox looks for events to republish.
const outboxEvery = 5 * time.Second

// printCurls prints the curl lines of what this process serves at base:
// the orders endpoints, and the inventory and shipping ones when they run
// here (both or neither, as the configuration routes them). With a
// development token, they carry it.
func printCurls(w io.Writer, base, mode string, local bool, token string) {
	fmt.Fprintf(w, "orders listening on %s (%s)\n", base, mode)
	authz := ""
	if token != "" {
		fmt.Fprintf(w, "  TOKEN=%s   # alice, scope orders, for 1h (wego token mints others)\n", token)
		authz = ` -H "Authorization: Bearer $TOKEN"`
	}
	fmt.Fprintf(w, "  curl -X POST %s/orders%s -H 'Content-Type: application/json' -d '{\"sku\":\"apple\",\"qty\":2}'\n", base, authz)
	fmt.Fprintf(w, "  curl -X POST %s/orders%s -H 'Content-Type: application/json' -H 'Accept-Language: es' -d '{\"sku\":\"pear\",\"qty\":50}'\n", base, authz)
	fmt.Fprintf(w, "  curl %s/orders/<order_id>%s\n", base, authz)
	if local {
		fmt.Fprintf(w, "  curl %s/inventory/stock/apple\n", base)
		fmt.Fprintf(w, "  curl %s/shipments/<order_id>%s\n", base, authz)
	}
	fmt.Fprintf(w, "  curl %s/            (the commands served here)\n", base)
	fmt.Fprintf(w, "  curl %s/openapi.json\n", base)
}
