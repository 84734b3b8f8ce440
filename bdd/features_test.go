package bdd_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/cucumber/godog"
	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/wegomesh/wego/bdd"
	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/middleware/logging"
	"github.com/wegomesh/wego/middleware/requestid"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// A small inventory and orders application, registered in a test catalog.

var (
	errUnknownSKU = errs.Define("inventory.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown.")
	errOutOfStock = errs.Define("inventory.out_of_stock", errs.KindConflict, "Only {{.available}} of {{.sku}} left.")
)

// ConfirmRequest confirms an order.
type ConfirmRequest struct {
	OrderID string `json:"order_id"`
	Qty     int    `json:"qty"`
}

// Confirmed is the event of a confirmed order.
type Confirmed struct {
	OrderID string `json:"order_id"`
	Qty     int    `json:"qty"`
}

// Store holds stock by SKU.
type Store interface {
	// Take removes qty of sku and returns what is left.
	Take(sku string, qty int) (left int, err error)
	// Left returns the stock of sku.
	Left(sku string) (int, bool)
}

type memStore struct {
	mu    sync.Mutex
	stock map[string]int
}

func newMemStore(stock map[string]int) *memStore {
	m := &memStore{stock: map[string]int{}}
	for k, v := range stock {
		m.stock[k] = v
	}
	return m
}

func (m *memStore) Take(sku string, qty int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.stock[sku]
	if !ok {
		return 0, errUnknownSKU.New(errs.P("sku", sku))
	}
	if n < qty {
		return n, errOutOfStock.New(errs.P("sku", sku), errs.P("available", strconv.Itoa(n)))
	}
	m.stock[sku] = n - qty
	return n - qty, nil
}

func (m *memStore) Left(sku string) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.stock[sku]
	return n, ok
}

type ReserveRequest struct {
	SKU string `json:"sku" audit:"include"`
	Qty int    `json:"qty" audit:"include"`
}

type ReserveResponse struct {
	ReservationID string   `json:"reservation_id"`
	SKU           string   `json:"sku"`
	Qty           int      `json:"qty"`
	Left          int      `json:"left"`
	Tags          []string `json:"tags,omitempty"`
}

type Item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type PlaceRequest struct {
	Items []Item `json:"items"`
}

type PlacedItem struct {
	SKU           string `json:"sku"`
	Qty           int    `json:"qty"`
	ReservationID string `json:"reservation_id"`
}

type PlaceResponse struct {
	OrderID string       `json:"order_id"`
	Items   []PlacedItem `json:"items"`
}

type GetOrderRequest struct {
	ID string `path:"id" json:"-"`
}

type Order struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type CheckRequest struct{}

type CheckResponse struct {
	Status string `json:"status"`
}

func initialStock() map[string]int { return map[string]int{"apple": 10, "pear": 2} }

// newCatalog registers the application in a new catalog.
func newCatalog(t testing.TB) (*catalog.Catalog, catalog.Dependency[Store]) {
	t.Helper()
	c := catalog.New()
	store, err := catalog.ProvideIn[Store](c, "inventory.store", newMemStore(initialStock()))
	if err != nil {
		t.Fatal(err)
	}
	reserve, err := catalog.RegisterIn(c, "inventory.Reserve",
		func(ctx context.Context, req ReserveRequest) (ReserveResponse, error) {
			s, err := store.Get(ctx)
			if err != nil {
				return ReserveResponse{}, err
			}
			if req.Qty < 1 {
				return ReserveResponse{}, errs.InvalidArgument(errs.Field("qty", "must be at least 1"))
			}
			left, err := s.Take(req.SKU, req.Qty)
			if err != nil {
				return ReserveResponse{}, err
			}
			return ReserveResponse{ReservationID: uuid.NewString(), SKU: req.SKU, Qty: req.Qty, Left: left}, nil
		},
		httptransport.SuccessStatus(http.StatusCreated),
		catalog.With(audit.Auditable.Value(true)),
		catalog.Doc("Reserves stock of one SKU."))
	if err != nil {
		t.Fatal(err)
	}
	var errList []error
	_, err = catalog.RegisterIn(c, "orders.Place",
		func(ctx context.Context, req PlaceRequest) (PlaceResponse, error) {
			out := PlaceResponse{OrderID: "o-1"}
			for _, it := range req.Items {
				r, err := reserve.Call(ctx, ReserveRequest(it))
				if err != nil {
					return PlaceResponse{}, err
				}
				out.Items = append(out.Items, PlacedItem{SKU: it.SKU, Qty: it.Qty, ReservationID: r.ReservationID})
			}
			return out, nil
		})
	errList = append(errList, err)
	_, err = catalog.RegisterIn(c, "orders.Get",
		func(_ context.Context, req GetOrderRequest) (Order, error) {
			if req.ID != "o-1" {
				return Order{}, errs.NotFound(errs.P("id", req.ID))
			}
			return Order{ID: req.ID, Status: "placed"}, nil
		}, httptransport.GET("/orders/{id}"))
	errList = append(errList, err)
	// Events: orders.Confirm publishes orders.Confirmed, which
	// shipping.OnConfirmed receives; an order "o-bad" it refuses.
	confirmed, err := events.NewTopicIn[Confirmed](c, "orders.Confirmed")
	errList = append(errList, err)
	if err == nil {
		_, err = catalog.RegisterIn(c, "orders.Confirm",
			func(ctx context.Context, req ConfirmRequest) (Confirmed, error) {
				e := Confirmed(req)
				return e, confirmed.Publish(ctx, e)
			})
		errList = append(errList, err)
		_, err = events.SubscribeIn(c, "shipping.OnConfirmed", confirmed,
			func(_ context.Context, e Confirmed) error {
				if e.OrderID == "o-bad" {
					return errs.InvalidArgument(errs.FieldViolation{Field: "order_id", Reason: "is refused"})
				}
				return nil
			})
		errList = append(errList, err)
	}
	_, err = catalog.RegisterIn(c, "health.Check",
		func(context.Context, CheckRequest) (CheckResponse, error) { return CheckResponse{Status: "ok"}, nil })
	errList = append(errList, err)
	for _, err := range errList {
		if err != nil {
			t.Fatal(err)
		}
	}
	return c, store
}

func newBundle(t testing.TB) *i18n.Bundle {
	t.Helper()
	b, err := i18n.New(i18n.Messages(language.Spanish, map[string]string{
		"inventory.unknown_sku":  "El SKU {{.sku}} no existe.",
		"inventory.out_of_stock": "Solo quedan {{.available}} de {{.sku}}.",
	}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wire installs the application's server chain in the scenario's catalog —
// request id, logging to the scenario's logger, audit to its recorder — and
// gives the scenario a fresh store.
func wire(store catalog.Dependency[Store]) func(w *bdd.World) error {
	return func(w *bdd.World) error {
		if _, err := catalog.ReplaceDep(w.Catalog, store, Store(newMemStore(initialStock()))); err != nil {
			return err
		}
		rid, err := requestid.New(requestid.DefaultConfig())
		if err != nil {
			return err
		}
		lg, err := logging.New(logging.DefaultConfig(), logging.WithLogger(w.Logger))
		if err != nil {
			return err
		}
		au, err := audit.New(audit.DefaultConfig(), audit.WithSink(w.Audit), audit.WithLogger(w.Logger))
		if err != nil {
			return err
		}
		w.Cleanup(func() { _ = au.Close() })
		w.Catalog.UseServerSide(rid, lg, au)
		return nil
	}
}

// fakes are the named fakes the features use.
func fakes() map[string]bdd.Fake {
	return map[string]bdd.Fake{
		"empty store": func(*bdd.World) (any, error) { return Store(newMemStore(nil)), nil },
		"out of stock": func(*bdd.World) (any, error) {
			return func(_ context.Context, req ReserveRequest) (ReserveResponse, error) {
				return ReserveResponse{}, errOutOfStock.New(errs.P("sku", req.SKU), errs.P("available", "0"))
			}, nil
		},
		"echo": func(*bdd.World) (any, error) {
			return catalog.AnyFunc(func(_ context.Context, req, resp any) error {
				r := req.(*ReserveRequest)
				*resp.(*ReserveResponse) = ReserveResponse{ReservationID: "echo-" + r.SKU, SKU: r.SKU, Qty: r.Qty}
				return nil
			}), nil
		},
		"a string": func(*bdd.World) (any, error) { return "not a store", nil },
	}
}

// storeSteps are the application's own steps, next to the built-in ones.
func storeSteps(store catalog.Dependency[Store]) func(sc *godog.ScenarioContext, w *bdd.World) {
	return func(sc *godog.ScenarioContext, w *bdd.World) {
		sc.Step(`^the store has (\d+) "([^"]*)" left$`, func(n int, sku string) error {
			s, err := store.Get(w.Context())
			if err != nil {
				return err
			}
			if got, ok := s.Left(sku); !ok || got != n {
				return fmt.Errorf("the store has %d %q left, not %d", got, sku, n)
			}
			return nil
		})
	}
}

// TestFeatures runs testdata/features against the application, over the
// real HTTP transport.
func TestFeatures(t *testing.T) {
	base, store := newCatalog(t)

	// A running service for `Given the service at "${BDD_TEST_SERVICE_URL}"`.
	remote := base.Clone()
	if _, err := catalog.ReplaceDep(remote, store, Store(newMemStore(initialStock()))); err != nil {
		t.Fatal(err)
	}
	h, err := httptransport.NewHandler(transport.Host{Name: "remote", Catalog: remote, I18n: newBundle(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Setenv("BDD_TEST_SERVICE_URL", srv.URL)

	bdd.Run(t,
		bdd.Catalog(base),
		bdd.I18n(newBundle(t)),
		bdd.Setup(wire(store)),
		bdd.Fakes(fakes()),
		bdd.Steps(storeSteps(store)),
		bdd.Paths("testdata/features"),
	)
}
