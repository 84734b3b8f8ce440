package mesh_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/catalog/catalogtest"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	inventorysvc "github.com/wegomesh/wego/examples/mesh/inventory/service"
	orderssvc "github.com/wegomesh/wego/examples/mesh/orders/service"
	"github.com/wegomesh/wego/fw"
	_ "github.com/wegomesh/wego/store/boltstore" // store.kind bbolt
	_ "github.com/wegomesh/wego/store/natsstore" // store.kind nats
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
	natstransport "github.com/wegomesh/wego/transport/nats"
	"go.uber.org/zap"
)

// placeConcurrently places n orders of one pear each at once through
// orders' API at base, and returns how many were placed and how many
// were refused for insufficient stock; any other answer fails the test.
func placeConcurrently(t *testing.T, bases []string, n int) (placed, refused int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := postJSON(t, bases[i%len(bases)]+"/orders", `{"sku":"pear","qty":1}`)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case status == http.StatusCreated:
				placed++
			case status == http.StatusConflict && body["code"] == "inventory.insufficient_stock":
				refused++
			default:
				t.Errorf("order %d: %d %v", i, status, body)
			}
		}()
	}
	wg.Wait()
	return placed, refused
}

// Sixty orders for the five pears at once: exactly five are placed, and
// the others are refused with insufficient_stock, never a sixth sale:
// each reservation is a compare-and-set of the pear's record.
func TestConcurrentOrdersNeverOversell(t *testing.T) {
	for _, two := range []bool{false, true} {
		t.Run(fmt.Sprintf("two=%v", two), func(t *testing.T) {
			ord, _, st := startWithStores(t, two)
			placed, refused := placeConcurrently(t, []string{ord}, 60)
			if placed != 5 || refused != 55 {
				t.Fatalf("placed %d, refused %d; want 5 and 55", placed, refused)
			}
			if n, _ := st.inv.Available("pear"); n != 0 || st.inv.Reservations() != 5 || st.ord.Quantity("pear") != 5 {
				t.Fatalf("pear: %d left, %d reservations, %d ordered; want 0, 5, 5", n, st.inv.Reservations(), st.ord.Quantity("pear"))
			}
		})
	}
}

// inventoryApp starts an inventory deployable whose store the yaml
// configures, bound through inventorysvc.Setup as the inventory binary
// binds it, and returns its URL and application.
func inventoryApp(t *testing.T, yaml string, extra ...transport.Transport) (string, *fw.App) {
	t.Helper()
	cat, _ := catalogtest.New(t)
	server := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"), httptransport.Timeouts(time.Second, 0, 0, 0))
	app, err := fw.New(
		fw.Catalog(cat),
		fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.FS(fstest.MapFS{"test.yaml": {Data: []byte(yaml)}}), config.Env("test"), config.Dir(t.TempDir())),
		fw.Sections("inventory"),
		fw.Messages(inventory.Messages, "locales/*.toml"),
		fw.Transports(append([]transport.Transport{server}, extra...)...),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := inventorysvc.Setup(cat, app.Config()); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })
	return "http://" + server.Addr(), app
}

// Stock kept in a bbolt file survives a restart of inventory: the
// initial stock of the configuration applies to SKUs the store does not
// hold yet, never over what it holds.
func TestStockSurvivesRestart(t *testing.T) {
	yaml := "app: {name: inventory}\nstore: {kind: bbolt, path: " + filepath.Join(t.TempDir(), "inventory.db") +
		"}\ninventory: {stock: {apple: 100, pear: 5}}\n"
	url, app := inventoryApp(t, yaml)
	if status, body := postJSON(t, url+"/inventory/reserve", `{"sku":"apple","qty":2}`); status != http.StatusOK {
		t.Fatalf("reserve: %d %v", status, body)
	}
	if err := app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	url, _ = inventoryApp(t, yaml)
	if got := available(t, url, "apple"); got != 98 {
		t.Errorf("after a restart: %d apples, want 98", got)
	}
}

// Two inventory replicas that share a NATS key-value bucket, both serving
// inventory's subjects in one queue group, and orders calling them over
// NATS: sixty concurrent orders for five pears place exactly five, however
// the queue group spreads them.
func TestReplicasNeverOversell(t *testing.T) {
	const storeYAML = "store: {kind: nats, name: inventory}\ninventory: {stock: {apple: 100, pear: 5}}\n"
	_, first := inventoryApp(t, "app: {name: inventory}\nnats: {server: {listen: \"127.0.0.1:-1\", store_dir: "+t.TempDir()+"}}\n"+storeYAML,
		natstransport.NewServer())
	natsURL := first.Host().Engine.(*engine.Engine).ClientURL()
	inventoryApp(t, "app: {name: inventory}\nnats: {urls: [\""+natsURL+"\"]}\n"+storeYAML, natstransport.NewServer())

	ordCat, _ := catalogtest.New(t)
	catalogtest.ReplaceDep(t, ordCat, orderssvc.StoreDep, orderssvc.NewStore())
	ord := deployable(t, ordCat, "app: {name: orders}\nnats: {urls: [\""+natsURL+"\"]}\nroutes:\n  inventory.*: nats://inventory\n")
	placed, refused := placeConcurrently(t, []string{ord}, 60)
	if placed != 5 || refused != 55 {
		t.Fatalf("placed %d, refused %d; want 5 and 55", placed, refused)
	}
	// A command whose HTTP request binds its path reaches a replica over
	// NATS with its fields in the JSON body.
	var stock inventory.StockResponse
	if err := ordCat.Call(t.Context(), "inventory.Stock", &inventory.StockRequest{SKU: "pear"}, &stock); err != nil || stock.Available != 0 || stock.SKU != "pear" {
		t.Fatalf("inventory.Stock over NATS = %+v, %v; want no pear left", stock, err)
	}
}
