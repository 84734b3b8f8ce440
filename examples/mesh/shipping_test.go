package mesh_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/events"
	_ "github.com/wegomesh/wego/events/natsevents" // events.backend nats
	"github.com/wegomesh/wego/examples/mesh/orders"
	orderssvc "github.com/wegomesh/wego/examples/mesh/orders/service"
	"github.com/wegomesh/wego/examples/mesh/shipping"
	shippingsvc "github.com/wegomesh/wego/examples/mesh/shipping/service"
	"github.com/wegomesh/wego/log"
	natstransport "github.com/wegomesh/wego/transport/nats"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// withShipping gives cat a shipping store of its own and subscribes
// shipping in it, as shippingsvc.Setup does in a deployable; it returns
// the store.
func withShipping(t *testing.T, cat *catalog.Catalog) *shippingsvc.Store {
	t.Helper()
	st := shippingsvc.NewStore()
	catalogtest.ReplaceDep(t, cat, shippingsvc.StoreDep, st)
	if err := shippingsvc.Subscribe(cat); err != nil {
		t.Fatal(err)
	}
	return st
}

// placeOrder places an order of 2 apples through orders' API at base and
// returns its id.
func placeOrder(t *testing.T, base string) string {
	t.Helper()
	status, body := postJSON(t, base+"/orders", `{"sku":"apple","qty":2}`)
	id, _ := body["order_id"].(string)
	if status != http.StatusCreated || id == "" {
		t.Fatalf("POST /orders: %d %v", status, body)
	}
	return id
}

// awaitShipment polls GET /shipments/{id} at base until it answers 200,
// and returns the shipment's fields.
func awaitShipment(t *testing.T, base, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := getJSON(t, base+"/shipments/"+id)
		if status == http.StatusOK {
			return body
		}
		if status != http.StatusNotFound || body["code"] != "shipping.not_found" {
			t.Fatalf("GET /shipments/%s: %d %v", id, status, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no shipment for order %s after 10s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// In one process, on the in-process backend (WEGO_ENV=single): an order
// placed makes its shipment, and nothing stays in orders' outbox.
func TestPlacedOrderIsShipped(t *testing.T) {
	t.Parallel()
	cat, _ := catalogtest.New(t)
	fresh(t, cat)
	ordStore := orderssvc.NewStore()
	catalogtest.ReplaceDep(t, cat, orderssvc.StoreDep, ordStore)
	ships := withShipping(t, cat)
	base := deployable(t, cat, "app: {name: orders}\nevents: {backend: memory}\n")

	if status, body := getJSON(t, base+"/shipments/o-none"); status != http.StatusNotFound || body["code"] != "shipping.not_found" {
		t.Fatalf("GET /shipments/o-none: %d %v", status, body)
	}
	id := placeOrder(t, base)
	sh := awaitShipment(t, base, id)
	if sh["order_id"] != id || sh["sku"] != "apple" || sh["qty"] != float64(2) || sh["reservation_id"] == "" {
		t.Fatalf("shipment %v", sh)
	}
	if n := ships.Len(); n != 1 {
		t.Fatalf("%d shipments, want 1", n)
	}
	if n := ordStore.Pending(); n != 0 {
		t.Fatalf("%d events in orders' outbox after a publish that succeeded", n)
	}
}

// A redelivered event, even many at once, makes one shipment: the first
// one's.
func TestDuplicateDeliveryCreatesOneShipment(t *testing.T) {
	t.Parallel()
	cat, ctx := catalogtest.New(t)
	ships := withShipping(t, cat)
	e, ok := cat.Entry(shippingsvc.SubscriberName)
	if !ok {
		t.Fatal("shipping.OnOrderPlaced is not in the catalog")
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := orders.OrderPlaced{OrderID: "o-1", SKU: "apple", Qty: i + 1, ReservationID: "r-1", PlacedAt: time.Now()}
			if err := e.Invoke(ctx, &ev, e.NewResponse()); err != nil {
				t.Errorf("delivery %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if n := ships.Len(); n != 1 {
		t.Fatalf("%d shipments of one order, want 1", n)
	}
	sh, err := shipping.Get.Call(ctx, shipping.GetRequest{OrderID: "o-1"})
	if err != nil || sh.OrderID != "o-1" {
		t.Fatalf("shipping.Get: %+v, %v", sh, err)
	}
	// An event without an order id is refused for good: dead-lettered,
	// never redelivered.
	if err := shippingsvc.OnOrderPlaced(ctx, orders.OrderPlaced{}); events.OutcomeOf(err) != events.Terminate {
		t.Fatalf("an event without an order id: %v, outcome %v", err, events.OutcomeOf(err))
	}
}

// An order whose event could not be published is placed all the same; its
// event stays in the outbox until Republish publishes it, once.
func TestOutboxRepublishes(t *testing.T) {
	t.Parallel()
	cat, ctx := catalogtest.New(t)
	fresh(t, cat)
	ordStore := orderssvc.NewStore()
	catalogtest.ReplaceDep(t, cat, orderssvc.StoreDep, ordStore)
	ships := withShipping(t, cat)

	// No bus runs: the publish fails with events.not_running.
	o, err := orders.Place.Call(ctx, orders.PlaceRequest{SKU: "apple", Qty: 1})
	if err != nil {
		t.Fatalf("Place without a bus: %v", err)
	}
	if n := ordStore.Pending(); n != 1 {
		t.Fatalf("%d events in the outbox, want 1", n)
	}
	if _, err := orders.Get.Call(ctx, orders.GetRequest{ID: o.OrderID}); err != nil {
		t.Fatalf("the order is lost: %v", err)
	}
	if n, err := orderssvc.Republish(ctx, time.Hour); n != 0 || err != nil {
		t.Fatalf("Republish of a young event: %d, %v", n, err)
	}

	bus := events.NewBus(cat, events.NewMemory(events.MemoryConfig{Synchronous: true}))
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer bus.Stop(context.Background())
	if n, err := orderssvc.Republish(ctx, 0); n != 1 || err != nil {
		t.Fatalf("Republish: %d, %v; want 1 event", n, err)
	}
	if n := ordStore.Pending(); n != 0 {
		t.Fatalf("%d events in the outbox after Republish", n)
	}
	if _, err := shipping.Get.Call(ctx, shipping.GetRequest{OrderID: o.OrderID}); err != nil {
		t.Fatalf("no shipment after Republish: %v", err)
	}
	if n, err := orderssvc.Republish(ctx, 0); n != 0 || err != nil || ships.Len() != 1 {
		t.Fatalf("Republish again: %d, %v, %d shipments", n, err, ships.Len())
	}
}

// A pass of the outbox ends at its first transient publish failure: with
// the bus down, three pending events cost one attempt and one warning, not
// three, and stay pending.
func TestOutboxPassStopsWhileTheBusIsDown(t *testing.T) {
	t.Parallel()
	cat, ctx := catalogtest.New(t)
	fresh(t, cat)
	ordStore := orderssvc.NewStore()
	catalogtest.ReplaceDep(t, cat, orderssvc.StoreDep, ordStore)
	withShipping(t, cat)
	for range 3 {
		if _, err := orders.Place.Call(ctx, orders.PlaceRequest{SKU: "apple", Qty: 1}); err != nil {
			t.Fatalf("Place without a bus: %v", err)
		}
	}
	core, logs := observer.New(zap.WarnLevel)
	n, err := orderssvc.Republish(log.WithLogger(ctx, zap.New(core)), 0)
	if n != 0 || err == nil {
		t.Fatalf("Republish with the bus down: %d, %v; want 0 and its error", n, err)
	}
	if got := logs.FilterMessageSnippet("not published yet").Len(); got != 1 {
		t.Errorf("%d publish failures logged by one pass, want 1 (the pass stops at the first)", got)
	}
	if p := ordStore.Pending(); p != 3 {
		t.Errorf("%d events pending after the pass, want 3", p)
	}
}

// Orders and shipping in two deployables, the events over NATS core: an
// order placed in one is shipped by the other.
func TestShippingOverNATS(t *testing.T) {
	t.Parallel()
	shipCat, _ := catalogtest.New(t)
	withShipping(t, shipCat)
	ship, app := deployableApp(t, shipCat,
		"app: {name: shipping}\nnats: {server: {listen: \"127.0.0.1:-1\", jetstream: false}}\nevents: {backend: nats}\n",
		natstransport.NewServer())
	natsURL := app.Host().Engine.(*engine.Engine).ClientURL()

	ordCat, _ := catalogtest.New(t)
	fresh(t, ordCat)
	ord := deployable(t, ordCat, "app: {name: orders}\nnats: {urls: [\""+natsURL+"\"]}\nevents: {backend: nats}\nroutes:\n  shipping.*: nats://shipping\n")
	if _, ok := ordCat.Entry(shippingsvc.SubscriberName); ok {
		t.Fatal("orders must not subscribe shipping")
	}

	id := placeOrder(t, ord)
	sh := awaitShipment(t, ship, id)
	if sh["order_id"] != id {
		t.Fatalf("shipment %v", sh)
	}
	// orders calls shipping.Get over NATS, through the route.
	got, err := shipping.Get.Call(catalog.NewContext(context.Background(), ordCat), shipping.GetRequest{OrderID: id})
	if err != nil || got.OrderID != id {
		t.Fatalf("shipping.Get over NATS: %+v, %v", got, err)
	}
	_, err = shipping.Get.Call(catalog.NewContext(context.Background(), ordCat), shipping.GetRequest{OrderID: "o-none"})
	if !errors.Is(err, shipping.ErrNotFound) {
		t.Fatalf("shipping.Get of no order over NATS: %v", err)
	}
}

// getJSON gets url and returns the status and the JSON body.
func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("GET %s: %d, the body is not JSON: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, m
}
