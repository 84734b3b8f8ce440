// Command inventory runs the example inventory service on its own:
// GET /inventory/stock/{sku} and POST /inventory/reserve on
// 127.0.0.1:8081, reachable from this machine only.
//
// The built-in configuration (config/dev.yaml) seeds the stock; a
// config/dev.yaml next to the binary, or WEGO_ variables such as
// WEGO_HTTP_ADDR=127.0.0.1:9081, override it. WEGO_HTTP_ADDR=:8081 listens
// on every interface, to expose the service to other machines.
//
// With the nats section of the built-in configuration it also serves its
// commands over NATS, and embeds the NATS server, on 127.0.0.1:4222, that
// orders connects to. WEGO_NATS_URLS=nats://127.0.0.1:4222 makes a second
// replica connect to that server instead of embedding one; the replicas
// then share inventory's requests through NATS's queue group.
package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/examples/mesh/internal/devtoken"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/examples/mesh/inventory/service"
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
		fmt.Fprintln(os.Stderr, "inventory:", err)
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
		transports = append(transports, natstransport.NewServer()) // the same commands, over NATS
	}
	var app *fw.App
	app, err = fw.New(
		fw.WithConfig(cfg),
		fw.Sections("inventory"),
		fw.Messages(inventory.Messages, "locales/*.toml"),
		fw.Transports(transports...),
		fw.AfterStart(func(context.Context) error {
			base := server.URL()
			fmt.Printf("inventory listening on %s\n", base)
			fmt.Printf("  curl %s/inventory/stock/apple\n", base)
			authz := ""
			if tok := devtoken.For(app.Config(), "ops", "inventory.admin"); tok != "" {
				fmt.Printf("  OPS=%s   # an operator, scope inventory.admin, for 1h (wego token mints others)\n", tok)
				authz = ` -H "Authorization: Bearer $OPS"`
			}
			fmt.Printf("  curl -X POST %s/inventory/reserve%s -H 'Content-Type: application/json' -d '{\"sku\":\"apple\",\"qty\":2}'\n", base, authz)
			return nil
		}),
	)
	if err != nil {
		return err
	}
	if err := service.Setup(app.Catalog(), app.Config()); err != nil {
		return err
	}
	return app.Run(context.Background())
}
