// Package service implements the example orders service. Placing an order
// calls inventory.Reserve through its typed handle: the same code runs the
// call in process or over HTTP, as the configuration's routes decide.
//
// Placing an order changes state in two services, so it runs to completion
// (timeout.RunToCompletion): a client that disconnects or whose deadline
// passes does not leave a reservation without its order. What Place cannot
// complete it undoes: a reservation it could not turn into an order is
// released, on a context detached from the caller.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/examples/mesh/orders"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/idempotency"
	"github.com/wegomesh/wego/middleware/timeout"
	"github.com/wegomesh/wego/store"
)

// Store is orders' view of a store: one record per order, under
// "order.<id>". It is safe for concurrent use.
type Store struct {
	orders *store.Typed[orders.Order]

	mu     sync.Mutex
	broken error // what add fails with, nil when it works
}

// Break makes every later order fail to be stored, with err, as a
// database that is down would; Break(nil) repairs the store. Tests use it
// to see Place release the reservation it could not turn into an order.
func (s *Store) Break(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = err
}

// add stores o, or fails as Break said.
func (s *Store) add(ctx context.Context, o orders.Order) error {
	s.mu.Lock()
	broken := s.broken
	s.mu.Unlock()
	if broken != nil {
		return errs.Unavailable().WithCause(broken)
	}
	_, err := s.orders.Put(ctx, "order."+o.OrderID, o, store.PutOptions{Create: true})
	return err
}

// NewStore returns a Store over a new, empty store in memory.
func NewStore() *Store { return Open(store.NewMemory()) }

// Open returns a Store over s.
func Open(s store.Store) *Store { return &Store{orders: store.NewTyped[orders.Order](s)} }

// all returns every order.
func (s *Store) all() []orders.Order {
	items, err := s.orders.List(context.Background(), "order.", store.ListOptions{})
	if err != nil {
		return nil
	}
	out := make([]orders.Order, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out
}

// Len returns the number of orders.
func (s *Store) Len() int { return len(s.all()) }

// Quantity returns the units ordered of sku, over all orders.
func (s *Store) Quantity(sku string) int {
	n := 0
	for _, o := range s.all() {
		if o.SKU == sku {
			n += o.Qty
		}
	}
	return n
}

// StoreDep is the store the commands use.
var StoreDep = catalog.Provide("orders.store", NewStore())

// PlaceBudget is how long Place may run once started, at most: the HTTP
// server's command budget (http.command_timeout) caps it. It is within
// the deployable's shutdown timeout, so a graceful stop lets it finish.
const PlaceBudget = 10 * time.Second

func init() {
	catalog.Register("orders.Place", place, catalog.With(timeout.RunToCompletion(PlaceBudget)))
	catalog.Register("orders.Get", get)
}

// place reserves the stock, then stores the order and publishes its
// OrderPlaced event (through the outbox, events.go). It runs to completion:
// its context is detached from its caller (the deadline middleware), so
// neither a client that goes away nor its X-Wego-Timeout stops it between
// the two steps.
func place(ctx context.Context, req orders.PlaceRequest) (orders.Order, error) {
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return orders.Order{}, err
	}
	// inventory validates the request and answers with its own errors
	// (unknown SKU, insufficient stock, invalid quantity); they reach our
	// caller with inventory's code and status. With our caller's
	// idempotency key, every retry of one order asks for the same
	// reservation: a request that reached inventory after we gave up on it
	// (inventory stalled) does not reserve a second time. Reserving may
	// take three quarters of the time left, so that what comes back late
	// can still be released.
	key := reserveKey(ctx)
	ctx = asOrders(ctx)
	rctx, cancel := share(ctx, 3, 4)
	r, err := inventory.Reserve.Call(rctx, inventory.ReserveRequest{SKU: req.SKU, Qty: req.Qty, Key: key})
	cancel()
	if err != nil {
		return orders.Order{}, err
	}
	o := orders.Order{OrderID: uuid.NewString(), SKU: r.SKU, Qty: req.Qty, ReservationID: r.ReservationID}
	e := placedEvent(o) // published through the outbox: see events.go
	if err := s.pend(ctx, e); err != nil {
		release(ctx, r.ReservationID)
		return orders.Order{}, err
	}
	if err := s.add(ctx, o); err != nil {
		_ = s.unpend(ctx, o.OrderID) // what stays, Republish drops: there is no order
		release(ctx, r.ReservationID)
		return orders.Order{}, err
	}
	_ = s.publish(ctx, e) // what fails stays in the outbox, for Republish
	return o, nil
}

// asOrders returns ctx carrying the orders service's own account, when
// the deployable has one (auth.identity): orders reserves and releases
// stock as itself, not as its caller — inventory lets only the orders
// service, and operators, reserve. Over a route the call carries the
// service's credential anyway; in one process the account of the context
// is what inventory's rules see.
func asOrders(ctx context.Context) context.Context {
	if self, err := fw.ServiceAccountDep.Get(ctx); err == nil {
		return auth.NewContext(ctx, self)
	}
	return ctx
}

// reserveKey returns the key of Place's reservation: a digest of its
// caller's idempotency key, scoped like the idempotency middleware's
// records (by command and principal), or "" when the caller sent none.
func reserveKey(ctx context.Context) string {
	key, ok := idempotency.KeyFrom(ctx)
	if !ok {
		return ""
	}
	principal, _ := fw.Principal(ctx)
	h := sha256.New()
	for _, s := range []string{"orders.Place", principal, key} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)) // 64 characters: inventory.MaxKeyLen
}

// share returns ctx with a deadline at num/den of the time it has left, or
// ctx itself when it has no deadline.
func share(ctx context.Context, num, den int64) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	left := time.Until(dl)
	return context.WithTimeout(ctx, time.Duration(int64(left)*num/den))
}

// Times of a release: what it gets when Place has no deadline, and at
// least.
const (
	releaseGrace = time.Second
	releaseMin   = 100 * time.Millisecond
)

// release gives back a reservation that Place could not turn into an
// order: the compensation of the step that did not complete. It runs on a
// context detached from the caller, with the time Place has left (at least
// releaseMin; releaseGrace without a deadline); inventory.Release is
// idempotent, so a release that is repeated, or that reaches a reservation
// inventory no longer holds, gives nothing back twice. A release that
// fails is logged with the reservation's id, for an operator to release it.
func release(ctx context.Context, id string) {
	d := releaseGrace
	if dl, ok := ctx.Deadline(); ok {
		d = max(time.Until(dl), releaseMin)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	if _, err := inventory.Release.Call(asOrders(cctx), inventory.ReleaseRequest{ReservationID: id}); err != nil {
		log.For(ctx).Error("orders: a reservation without its order could not be released",
			zap.String("reservation_id", id), zap.Error(err))
	}
}

func get(ctx context.Context, req orders.GetRequest) (orders.Order, error) {
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return orders.Order{}, err
	}
	if !store.ValidKey("order." + req.ID) {
		return orders.Order{}, orders.ErrNotFound.New(errs.P("id", req.ID))
	}
	o, _, err := s.orders.Get(ctx, "order."+req.ID)
	if errors.Is(err, store.ErrNotFound) {
		return orders.Order{}, orders.ErrNotFound.New(errs.P("id", req.ID))
	}
	return o, err
}

// Setup binds orders' commands in cat to the application's store
// (fw.StoreDep, which the store section configures). A deployable that
// runs orders calls it after fw.New.
func Setup(cat *catalog.Catalog) error {
	st, err := fw.StoreDep.From(cat)
	if err != nil {
		return err
	}
	_, err = catalog.ReplaceDep(cat, StoreDep, Open(st))
	return err
}
