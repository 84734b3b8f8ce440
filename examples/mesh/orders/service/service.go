// Package service implements the example orders service. Placing an order
// calls inventory.Reserve through its typed handle: the same code runs the
// call in process or over HTTP, as the configuration's routes decide.
package service

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/examples/mesh/orders"
)

// Store keeps orders in memory. It is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	orders map[string]orders.Order
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{orders: map[string]orders.Order{}} }

// Len returns the number of orders.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

// Quantity returns the units ordered of sku, over all orders.
func (s *Store) Quantity(sku string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range s.orders {
		if o.SKU == sku {
			n += o.Qty
		}
	}
	return n
}

// StoreDep is the store the commands use.
var StoreDep = catalog.Provide("orders.store", NewStore())

func init() {
	catalog.Register("orders.Place", place)
	catalog.Register("orders.Get", get)
}

func place(ctx context.Context, req orders.PlaceRequest) (orders.Order, error) {
	// inventory validates the request and answers with its own errors
	// (unknown SKU, insufficient stock, invalid quantity); they reach our
	// caller with inventory's code and status.
	r, err := inventory.Reserve.Call(ctx, inventory.ReserveRequest{SKU: req.SKU, Qty: req.Qty})
	if err != nil {
		return orders.Order{}, err
	}
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return orders.Order{}, err
	}
	o := orders.Order{OrderID: uuid.NewString(), SKU: r.SKU, Qty: req.Qty, ReservationID: r.ReservationID}
	s.mu.Lock()
	s.orders[o.OrderID] = o
	s.mu.Unlock()
	return o, nil
}

func get(ctx context.Context, req orders.GetRequest) (orders.Order, error) {
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return orders.Order{}, err
	}
	s.mu.Lock()
	o, ok := s.orders[req.ID]
	s.mu.Unlock()
	if !ok {
		return orders.Order{}, orders.ErrNotFound.New(errs.P("id", req.ID))
	}
	return o, nil
}
