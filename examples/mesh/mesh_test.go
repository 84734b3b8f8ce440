package mesh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	inventorysvc "github.com/wegomesh/wego/examples/mesh/inventory/service"
	"github.com/wegomesh/wego/examples/mesh/orders"
	orderssvc "github.com/wegomesh/wego/examples/mesh/orders/service"
	"github.com/wegomesh/wego/examples/mesh/shipping"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

var seed = map[string]int{"apple": 100, "pear": 5}

// deployable starts one application serving cat over HTTP on a loopback
// port, with the given configuration file, and returns its base URL.
func deployable(t *testing.T, cat *catalog.Catalog, yaml string) string {
	t.Helper()
	url, _ := deployableApp(t, cat, yaml)
	return url
}

// deployableApp is deployable that also returns the application; extra
// transports serve beside HTTP.
func deployableApp(t *testing.T, cat *catalog.Catalog, yaml string, extra ...transport.Transport) (string, *fw.App) {
	t.Helper()
	// A connection that a client dialed ahead and never used would keep
	// Stop waiting for read_header_timeout (golang/go#22682): 1s, not 5s.
	server := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"), httptransport.Timeouts(time.Second, 0, 0, 0))
	app, err := fw.New(
		fw.Catalog(cat),
		fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.FS(fstest.MapFS{"test.yaml": {Data: []byte(yaml)}}), config.Env("test"), config.Dir(t.TempDir())),
		fw.Sections("inventory"),
		fw.Messages(inventory.Messages, "locales/*.toml"),
		fw.Messages(orders.Messages, "locales/*.toml"),
		fw.Messages(shipping.Messages, "locales/*.toml"),
		fw.Transports(append([]transport.Transport{server}, extra...)...),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })
	return "http://" + server.Addr(), app
}

// fresh gives a test's catalog stores of its own.
func fresh(t *testing.T, cat *catalog.Catalog) {
	catalogtest.ReplaceDep(t, cat, inventorysvc.StoreDep, inventorysvc.NewStore(seed))
	catalogtest.ReplaceDep(t, cat, orderssvc.StoreDep, orderssvc.NewStore())
}

// twoDeployables starts inventory and orders as two applications, orders
// calling inventory over HTTP. It returns the URLs of orders and inventory.
func twoDeployables(t *testing.T) (string, string) {
	invCat, _ := catalogtest.New(t)
	fresh(t, invCat)
	inv := deployable(t, invCat, "app: {name: inventory}\n")

	ordCat, _ := catalogtest.New(t)
	fresh(t, ordCat)
	ord := deployable(t, ordCat, "app: {name: orders}\nroutes:\n  inventory.*: "+inv+"\n")
	if e, _ := ordCat.Entry("inventory.Reserve"); !e.Routed() {
		t.Fatal("orders must route inventory.* to the inventory deployable")
	}
	return ord, inv
}

// twoDeployablesOverNATS starts inventory and orders as two applications,
// inventory embedding the NATS server and serving over HTTP and NATS,
// orders connecting to it and routing inventory.* over NATS, with no
// address of inventory in its configuration but NATS's.
func twoDeployablesOverNATS(t *testing.T) (string, string) {
	invCat, _ := catalogtest.New(t)
	fresh(t, invCat)
	inv, app := deployableApp(t, invCat, "app: {name: inventory}\nnats: {server: {listen: \"127.0.0.1:-1\", jetstream: false}}\n",
		natstransport.NewServer())
	natsURL := app.Host().Engine.(*engine.Engine).ClientURL()

	ordCat, _ := catalogtest.New(t)
	fresh(t, ordCat)
	ord := deployable(t, ordCat, "app: {name: orders}\nnats: {urls: [\""+natsURL+"\"]}\nroutes:\n  inventory.*: nats://inventory\n")
	if e, _ := ordCat.Entry("inventory.Reserve"); !e.Routed() {
		t.Fatal("orders must route inventory.* over NATS")
	}
	return ord, inv
}

// oneProcess starts orders with inventory in the same process.
func oneProcess(t *testing.T) (string, string) {
	cat, _ := catalogtest.New(t)
	fresh(t, cat)
	url := deployable(t, cat, "app: {name: orders}\n")
	return url, url
}

type exchange struct {
	method, path, body, lang string
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// script runs the documented API against a mesh and returns a transcript
// with ids masked, so that two meshes can be compared.
func script(t *testing.T, ordersURL, inventoryURL string) []string {
	t.Helper()
	return scriptAs(t, ordersURL, inventoryURL, nil)
}

// scriptAs is script whose requests carry the Authorization header that
// authz gives for their base URL and path, when authz is not nil.
func scriptAs(t *testing.T, ordersURL, inventoryURL string, authz func(base, path string) string) []string {
	t.Helper()
	var out []string
	do := func(base string, x exchange) map[string]any {
		req, _ := http.NewRequest(x.method, base+x.path, strings.NewReader(x.body))
		if x.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if authz != nil {
			req.Header.Set("Authorization", authz(base, x.path))
		}
		if x.lang != "" {
			req.Header.Set("Accept-Language", x.lang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		if id, ok := m["request_id"].(string); ok && id != resp.Header.Get("X-Request-Id") {
			t.Errorf("%s %s: body request_id %q differs from the header %q", x.method, x.path, id, resp.Header.Get("X-Request-Id"))
		}
		line := fmt.Sprintf("%s %s -> %d %s", x.method, x.path, resp.StatusCode, bytes.TrimSpace(b))
		out = append(out, uuidRE.ReplaceAllString(line, "<uuid>"))
		return m
	}
	placed := do(ordersURL, exchange{method: "POST", path: "/orders", body: `{"sku":"apple","qty":2}`})
	id, _ := placed["order_id"].(string)
	if !uuidRE.MatchString(id) {
		t.Fatalf("POST /orders gave no order id: %v", placed)
	}
	do(ordersURL, exchange{method: "GET", path: "/orders/" + id})
	do(inventoryURL, exchange{method: "GET", path: "/inventory/stock/apple"})
	do(ordersURL, exchange{method: "POST", path: "/orders", body: `{"sku":"pear","qty":50}`})
	do(ordersURL, exchange{method: "POST", path: "/orders", body: `{"sku":"pear","qty":50}`, lang: "es"})
	do(ordersURL, exchange{method: "POST", path: "/orders", body: `{"sku":"kiwi","qty":1}`})
	do(ordersURL, exchange{method: "POST", path: "/orders", body: `{"sku":"apple","qty":0}`})
	do(ordersURL, exchange{method: "POST", path: "/orders", body: `{"sku":"apple","qty":0}`, lang: "es"})
	do(ordersURL, exchange{method: "GET", path: "/orders/no-such-order"})
	do(inventoryURL, exchange{method: "POST", path: "/inventory/reserve", body: `{"sku":"pear","qty":5}`})
	do(inventoryURL, exchange{method: "GET", path: "/inventory/stock/pear"})
	return out
}

// The documented API, end to end over HTTP, with orders calling inventory
// in another deployable.
func TestTwoDeployables(t *testing.T) {
	t.Parallel()
	o, i := twoDeployables(t)
	got := script(t, o, i)
	want := []string{
		`POST /orders -> 201 {"order_id":"<uuid>","sku":"apple","qty":2,"reservation_id":"<uuid>"}`,
		`GET /orders/<uuid> -> 200 {"order_id":"<uuid>","sku":"apple","qty":2,"reservation_id":"<uuid>"}`,
		`GET /inventory/stock/apple -> 200 {"sku":"apple","available":98}`,
		`POST /orders -> 409 {"code":"inventory.insufficient_stock","kind":"conflict","message":"Only 5 of pear left; 50 requested.","request_id":"<uuid>","params":{"available":"5","requested":"50","sku":"pear"}}`,
		`POST /orders -> 409 {"code":"inventory.insufficient_stock","kind":"conflict","message":"Solo quedan 5 de pear; se pidieron 50.","request_id":"<uuid>","params":{"available":"5","requested":"50","sku":"pear"}}`,
		`POST /orders -> 404 {"code":"inventory.unknown_sku","kind":"not_found","message":"SKU kiwi is unknown.","request_id":"<uuid>","params":{"sku":"kiwi"}}`,
		`POST /orders -> 400 {"code":"invalid_argument","kind":"invalid_argument","message":"Invalid request: qty must be at least 1.","request_id":"<uuid>","fields":[{"field":"qty","reason":"must be at least 1","key":"validate.min","params":{"min":"1"}}]}`,
		`POST /orders -> 400 {"code":"invalid_argument","kind":"invalid_argument","message":"Solicitud no válida: qty debe ser al menos 1.","request_id":"<uuid>","fields":[{"field":"qty","reason":"debe ser al menos 1","key":"validate.min","params":{"min":"1"}}]}`,
		`GET /orders/no-such-order -> 404 {"code":"orders.not_found","kind":"not_found","message":"Order no-such-order does not exist.","request_id":"<uuid>","params":{"id":"no-such-order"}}`,
		`POST /inventory/reserve -> 200 {"reservation_id":"<uuid>","sku":"pear","remaining":0}`,
		`GET /inventory/stock/pear -> 200 {"sku":"pear","available":0}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("transcript:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Over NATS, the documented API gives the same answers as over HTTP.
func TestTwoDeployablesOverNATS(t *testing.T) {
	t.Parallel()
	o2, i2 := twoDeployables(t)
	overHTTP := script(t, o2, i2)
	o, i := twoDeployablesOverNATS(t)
	overNATS := script(t, o, i)
	if strings.Join(overNATS, "\n") != strings.Join(overHTTP, "\n") {
		t.Fatalf("over NATS:\n%s\n\nover HTTP:\n%s", strings.Join(overNATS, "\n"), strings.Join(overHTTP, "\n"))
	}
}

// The same code in one process gives the same answers.
func TestOneProcessMatchesTwoDeployables(t *testing.T) {
	t.Parallel()
	o2, i2 := twoDeployables(t)
	two := script(t, o2, i2)
	o1, i1 := oneProcess(t)
	one := script(t, o1, i1)
	if strings.Join(one, "\n") != strings.Join(two, "\n") {
		t.Fatalf("one process:\n%s\n\ntwo deployables:\n%s", strings.Join(one, "\n"), strings.Join(two, "\n"))
	}
}

// The caller sees inventory's typed errors with their codes, as if the
// call were local, through the typed handle.
func TestTypedErrorsAcrossTheRoute(t *testing.T) {
	t.Parallel()
	_, inv := twoDeployables(t)
	cat, ctx := catalogtest.New(t)
	if err := cat.SetRoute("inventory.*", httptransport.NewClient().Route(inv)); err != nil {
		t.Fatal(err)
	}
	_, err := inventory.Reserve.Call(ctx, inventory.ReserveRequest{SKU: "kiwi", Qty: 1})
	if !errorsIs(err, inventory.ErrUnknownSKU) {
		t.Fatalf("err = %v, want inventory.unknown_sku", err)
	}
	resp, err := inventory.Reserve.Call(ctx, inventory.ReserveRequest{SKU: "apple", Qty: 3})
	if err != nil || resp.Remaining != 97 || !uuidRE.MatchString(resp.ReservationID) {
		t.Fatalf("remote reserve = %+v, %v", resp, err)
	}
}

// A deployable serves only the commands that run there: orders, routing
// inventory.* elsewhere, does not expose inventory's endpoints.
func TestRoutedCommandsAreNotServed(t *testing.T) {
	t.Parallel()
	ord, _ := twoDeployables(t)
	resp, err := http.Get(ord + "/inventory/stock/apple")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusNotFound || body.Code != "http.not_found" {
		t.Fatalf("GET inventory endpoint on orders = %d %q", resp.StatusCode, body.Code)
	}
}

// Every error code of the mesh, and of the framework, has a message in
// English and Spanish.
func TestMessagesComplete(t *testing.T) {
	t.Parallel()
	b, err := i18n.New(i18n.Files(inventory.Messages, "locales/*.toml"), i18n.Files(orders.Messages, "locales/*.toml"),
		i18n.Files(shipping.Messages, "locales/*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
}
