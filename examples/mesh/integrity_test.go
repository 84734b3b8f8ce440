package mesh_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	inventorysvc "github.com/wegomesh/wego/examples/mesh/inventory/service"
	"github.com/wegomesh/wego/examples/mesh/orders"
	orderssvc "github.com/wegomesh/wego/examples/mesh/orders/service"
	"github.com/wegomesh/wego/middleware/timeout"
)

// stores are the stores of a mesh started by startWithStores.
type stores struct {
	inv *inventorysvc.Store
	ord *orderssvc.Store
}

// startWithStores starts the mesh like twoDeployables or oneProcess and
// returns the orders and inventory URLs and the stores they use.
func startWithStores(t *testing.T, two bool) (string, string, stores) {
	t.Helper()
	st := stores{inventorysvc.NewStore(seed), orderssvc.NewStore()}
	give := func(cat *catalog.Catalog) {
		catalogtest.ReplaceDep(t, cat, inventorysvc.StoreDep, st.inv)
		catalogtest.ReplaceDep(t, cat, orderssvc.StoreDep, st.ord)
	}
	if !two {
		cat, _ := catalogtest.New(t)
		give(cat)
		url := deployable(t, cat, "app: {name: orders}\n")
		return url, url, st
	}
	invCat, _ := catalogtest.New(t)
	give(invCat)
	inv := deployable(t, invCat, "app: {name: inventory}\n")
	ordCat, _ := catalogtest.New(t)
	give(ordCat)
	ord := deployable(t, ordCat, "app: {name: orders}\nroutes:\n  inventory.*: "+inv+"\n")
	return ord, inv, st
}

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("POST %s: %d %q is not JSON", url, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// inventory.Release gives the units of a reservation back once: a second
// release, or one of an unknown reservation, gives nothing and is not an
// error.
func TestReleaseIsIdempotent(t *testing.T) {
	t.Parallel()
	_, inv, st := startWithStores(t, true)
	status, r := postJSON(t, inv+"/inventory/reserve", `{"sku":"pear","qty":3}`)
	id, _ := r["reservation_id"].(string)
	if status != http.StatusOK || id == "" {
		t.Fatalf("reserve: %d %v", status, r)
	}
	for i, want := range []bool{true, false, false} {
		status, r := postJSON(t, inv+"/inventory/release", `{"reservation_id":"`+id+`"}`)
		if status != http.StatusOK || r["released"] != want || r["reservation_id"] != id {
			t.Fatalf("release %d: %d %v, want released=%v", i+1, status, r, want)
		}
	}
	if status, r := postJSON(t, inv+"/inventory/release", `{"reservation_id":"no-such-reservation"}`); status != http.StatusOK || r["released"] != false {
		t.Fatalf("unknown reservation: %d %v", status, r)
	}
	if status, r := postJSON(t, inv+"/inventory/release", `{"reservation_id":""}`); status != http.StatusBadRequest || r["code"] != "invalid_argument" {
		t.Fatalf("empty id: %d %v", status, r)
	}
	if n, _ := st.inv.Available("pear"); n != 5 || st.inv.Reservations() != 0 {
		t.Fatalf("pear: %d left, %d reservations; want 5 and none", n, st.inv.Reservations())
	}
}

// When orders cannot store an order whose stock it reserved, it releases
// the reservation and answers 503: the stock is back, nothing is held.
func TestPlaceReleasesWhatItCannotStore(t *testing.T) {
	t.Parallel()
	for name, two := range map[string]bool{"two deployables": true, "one process": false} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ord, _, st := startWithStores(t, two)
			st.ord.Break(errors.New("database down"))
			status, r := postJSON(t, ord+"/orders", `{"sku":"pear","qty":2}`)
			if status != http.StatusServiceUnavailable || r["code"] != "unavailable" {
				t.Fatalf("POST /orders with the store down: %d %v, want 503 unavailable", status, r)
			}
			if n, _ := st.inv.Available("pear"); n != 5 || st.inv.Reservations() != 0 || st.ord.Len() != 0 {
				t.Fatalf("pear: %d left, %d reservations, %d orders; want 5, none, none", n, st.inv.Reservations(), st.ord.Len())
			}
			st.ord.Break(nil)
			if status, _ := postJSON(t, ord+"/orders", `{"sku":"pear","qty":2}`); status != http.StatusCreated {
				t.Fatalf("after the repair: %d", status)
			}
			if n, _ := st.inv.Available("pear"); n != 3 || st.inv.Reservations() != 1 || st.ord.Len() != 1 {
				t.Fatalf("pear: %d left, %d reservations, %d orders; want 3, 1, 1", n, st.inv.Reservations(), st.ord.Len())
			}
		})
	}
}

// The commands that change stock run to completion; reads stop with their
// caller. A caller that cancels while orders.Place waits for inventory
// does not leave a reservation without its order (in process, the same
// chains as over HTTP).
func TestPlaceRunsToCompletion(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"orders.Place": true, "inventory.Reserve": true, "inventory.Release": true,
		"orders.Get": false, "inventory.Stock": false,
	} {
		e, ok := catalog.Default.Entry(name)
		if !ok {
			t.Fatalf("%s is not registered", name)
		}
		if _, got := timeout.CompleteKey.Get(e.Spec().Attributes); got != want {
			t.Errorf("%s runs to completion: %v, want %v", name, got, want)
		}
	}

	cat, _ := catalogtest.New(t)
	st := stores{inventorysvc.NewStore(seed), orderssvc.NewStore()}
	catalogtest.ReplaceDep(t, cat, inventorysvc.StoreDep, st.inv)
	catalogtest.ReplaceDep(t, cat, orderssvc.StoreDep, st.ord)
	deployable(t, cat, "app: {name: orders}\n") // the default chains, deadline among them
	reserving, resume := make(chan struct{}), make(chan struct{})
	var sawErr error
	catalogtest.Replace(t, cat, inventory.Reserve, func(ctx context.Context, r inventory.ReserveRequest) (inventory.ReserveResponse, error) {
		close(reserving)
		<-resume // the caller gives up meanwhile
		sawErr = ctx.Err()
		return inventory.ReserveResponse{ReservationID: "r-1", SKU: r.SKU, Remaining: 3}, nil
	})
	ctx, cancel := context.WithCancel(catalog.NewContext(context.Background(), cat))
	done := make(chan error, 1)
	go func() {
		_, err := orders.Place.Call(ctx, orders.PlaceRequest{SKU: "pear", Qty: 2})
		done <- err
	}()
	<-reserving
	cancel()
	close(resume)
	if err := <-done; err != nil || sawErr != nil {
		t.Fatalf("Place: %v; inventory saw %v", err, sawErr)
	}
	if st.ord.Len() != 1 || st.ord.Quantity("pear") != 2 {
		t.Fatalf("%d orders, %d pears ordered; want the order", st.ord.Len(), st.ord.Quantity("pear"))
	}
	// A call whose caller has gone already starts nothing.
	_, err := orders.Place.Call(ctx, orders.PlaceRequest{SKU: "pear", Qty: 2})
	if errs.KindOf(err) != errs.KindCanceled || st.ord.Len() != 1 {
		t.Fatalf("Place after the caller left: %v, %d orders", err, st.ord.Len())
	}
}

// Every endpoint of the example documents the 503 and 504 it can give.
func TestOpenAPIDocumentsUnavailableAndTimeout(t *testing.T) {
	t.Parallel()
	ord, inv := twoDeployables(t)
	for _, base := range []string{ord, inv} {
		resp, err := http.Get(base + "/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Paths map[string]map[string]struct {
				Responses map[string]any `json:"responses"`
			} `json:"paths"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || len(doc.Paths) == 0 {
			t.Fatalf("%s/openapi.json: %v", base, err)
		}
		for path, ops := range doc.Paths {
			for method, op := range ops {
				for _, status := range []string{"503", "504"} {
					if _, ok := op.Responses[status]; !ok {
						t.Errorf("%s %s %s: no %s response", base, method, path, status)
					}
				}
			}
		}
	}
}

// A key makes Reserve idempotent while the reservation is held: the same
// reservation for every request with it, 409 for another SKU or quantity,
// and a new reservation once it is released.
func TestReserveWithKey(t *testing.T) {
	t.Parallel()
	_, inv, st := startWithStores(t, true)
	_, r1 := postJSON(t, inv+"/inventory/reserve", `{"sku":"pear","qty":2,"key":"k-1"}`)
	status, r2 := postJSON(t, inv+"/inventory/reserve", `{"sku":"pear","qty":2,"key":"k-1"}`)
	if status != http.StatusOK || r1["reservation_id"] == nil || r2["reservation_id"] != r1["reservation_id"] {
		t.Fatalf("the same key twice: %v then %d %v", r1, status, r2)
	}
	if n, _ := st.inv.Available("pear"); n != 3 || st.inv.Reservations() != 1 {
		t.Fatalf("pear: %d left, %d reservations; want 3 and 1", n, st.inv.Reservations())
	}
	if status, r := postJSON(t, inv+"/inventory/reserve", `{"sku":"pear","qty":1,"key":"k-1"}`); status != http.StatusConflict ||
		r["code"] != "inventory.key_conflict" {
		t.Fatalf("the key with another quantity: %d %v", status, r)
	}
	if status, r := postJSON(t, inv+"/inventory/reserve", `{"sku":"pear","qty":1,"key":"`+strings.Repeat("k", 65)+`"}`); status != http.StatusBadRequest {
		t.Fatalf("a key of 65 bytes: %d %v", status, r)
	}
	postJSON(t, inv+"/inventory/release", `{"reservation_id":"`+r1["reservation_id"].(string)+`"}`)
	_, r3 := postJSON(t, inv+"/inventory/reserve", `{"sku":"pear","qty":2,"key":"k-1"}`)
	if r3["reservation_id"] == nil || r3["reservation_id"] == r1["reservation_id"] {
		t.Fatalf("after the release: %v, want a new reservation", r3)
	}
	if n, _ := st.inv.Available("pear"); n != 3 || st.inv.Reservations() != 1 {
		t.Fatalf("pear: %d left, %d reservations; want 3 and 1", n, st.inv.Reservations())
	}
}

// An order that could not be stored was released: its retry with the
// same Idempotency-Key reserves again rather than getting the released
// reservation back, and the stock ends right.
func TestRetryAfterReleaseReservesAgain(t *testing.T) {
	t.Parallel()
	for name, two := range map[string]bool{"two deployables": true, "one process": false} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ord, _, st := startWithStores(t, two)
			st.ord.Break(errors.New("database down"))
			if s, _ := placeWithKey(t, ord, `{"sku":"pear","qty":2}`, "order-9", ""); s != http.StatusServiceUnavailable {
				t.Fatalf("with the store down: %d", s)
			}
			st.ord.Break(nil)
			s, o := placeWithKey(t, ord, `{"sku":"pear","qty":2}`, "order-9", "")
			if s != http.StatusCreated {
				t.Fatalf("the retry: %d %v", s, o)
			}
			if n, _ := st.inv.Available("pear"); n != 3 || st.inv.Reservations() != 1 || st.ord.Len() != 1 {
				t.Fatalf("pear: %d left, %d reservations, %d orders; want 3, 1, 1", n, st.inv.Reservations(), st.ord.Len())
			}
		})
	}
}
