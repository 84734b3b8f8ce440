// Package service implements the example shipping service: the
// subscriber shipping.OnOrderPlaced, which makes one shipment for each
// orders.OrderPlaced event, and the command shipping.Get.
//
// Events may arrive more than once (at-least-once backends, orders'
// outbox republishing), so the subscriber is idempotent on the order's
// id: a shipment is the store record "shipment.<order_id>", written only
// if absent, and a duplicate finds it and changes nothing.
package service

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/examples/mesh/orders"
	"github.com/wegomesh/wego/examples/mesh/shipping"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/store"
)

// SubscriberName is the name of the subscriber of orders.OrderPlaced, and
// its group: every replica of shipping shares the events.
const SubscriberName = "shipping.OnOrderPlaced"

// Store is shipping's view of a store: one record per shipment, under
// "shipment.<order_id>". It is safe for concurrent use.
type Store struct {
	shipments *store.Typed[shipping.Shipment]
}

// NewStore returns a Store over a new, empty store in memory.
func NewStore() *Store { return Open(store.NewMemory()) }

// Open returns a Store over s.
func Open(s store.Store) *Store { return &Store{shipments: store.NewTyped[shipping.Shipment](s)} }

// Len returns the number of shipments.
func (s *Store) Len() int {
	items, err := s.shipments.List(context.Background(), "shipment.", store.ListOptions{})
	if err != nil {
		return 0
	}
	return len(items)
}

// StoreDep is the store the subscriber and the commands use.
var StoreDep = catalog.Provide("shipping.store", NewStore())

func init() {
	catalog.Register("shipping.Get", get)
}

// OnOrderPlaced makes the shipment of the order of e, unless it exists:
// a redelivered event finds its shipment and is acknowledged. An event
// without an order id is a permanent error (invalid_argument), which
// dead-letters it at once.
func OnOrderPlaced(ctx context.Context, e orders.OrderPlaced) error {
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return err
	}
	key := "shipment." + e.OrderID
	if e.OrderID == "" || !store.ValidKey(key) {
		return errs.InvalidArgument(errs.FieldViolation{Field: "order_id", Reason: "is not a valid order id"})
	}
	sh := shipping.Shipment{OrderID: e.OrderID, SKU: e.SKU, Qty: e.Qty,
		ReservationID: e.ReservationID, CreatedAt: time.Now().UTC()}
	_, err = s.shipments.Put(ctx, key, sh, store.PutOptions{Create: true})
	if errors.Is(err, store.ErrConflict) {
		log.For(ctx).Debug("shipping: the order has its shipment already", zap.String("order_id", e.OrderID))
		return nil
	}
	if err != nil {
		return err // retried after the back-off
	}
	log.For(ctx).Info("shipping: shipment created", zap.String("order_id", e.OrderID))
	return nil
}

func get(ctx context.Context, req shipping.GetRequest) (shipping.Shipment, error) {
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return shipping.Shipment{}, err
	}
	key := "shipment." + req.OrderID
	if !store.ValidKey(key) {
		return shipping.Shipment{}, shipping.ErrNotFound.New(errs.P("order_id", req.OrderID))
	}
	sh, _, err := s.shipments.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return shipping.Shipment{}, shipping.ErrNotFound.New(errs.P("order_id", req.OrderID))
	}
	return sh, err
}

// Setup runs shipping in cat: it binds its commands to the application's
// store (fw.StoreDep, which the store section configures) and subscribes
// OnOrderPlaced to orders.OrderPlaced. The subscriber is registered here,
// not when the package is linked, so that only a deployable that runs
// shipping receives the events: the orders binary links this package for
// WEGO_ENV=single but, when shipping runs elsewhere, must not take a share
// of its events. A deployable that runs shipping calls Setup after fw.New.
func Setup(cat *catalog.Catalog) error {
	st, err := fw.StoreDep.From(cat)
	if err != nil {
		return err
	}
	if _, err := catalog.ReplaceDep(cat, StoreDep, Open(st)); err != nil {
		return err
	}
	return Subscribe(cat)
}

// Subscribe registers the subscriber shipping.OnOrderPlaced in cat, with
// the store cat provides as StoreDep. Tests that bring their own store
// call it instead of Setup.
func Subscribe(cat *catalog.Catalog) error {
	_, err := events.SubscribeIn(cat, SubscriberName, orders.Placed, OnOrderPlaced,
		events.MaxDeliveries(10), events.Backoff(time.Second, time.Minute),
		events.Doc("Makes the shipment of a placed order, once per order."))
	return err
}
