package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/examples/mesh/orders"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/store"
)

// Publishing orders.OrderPlaced: an outbox in the store.
//
// Place writes the event to the outbox (the record "outbox.<order_id>")
// before it stores the order, publishes it once the order is stored, and
// deletes the outbox record once the publish succeeded. An event whose
// publish failed, or whose process died before publishing, stays in the
// outbox, and [Republish] publishes it again later: the order is never
// lost or failed because its event could not be published, and the
// event is published at least once. Its message id is the order's id, so
// a backend that de-duplicates stores a republished event once, and the
// subscribers are idempotent on the order's id anyway.

// outboxPrefix is the prefix of the outbox's records.
const outboxPrefix = "outbox."

// outbox returns the typed view of the outbox's records.
func (s *Store) outbox() *store.Typed[orders.OrderPlaced] {
	return store.NewTyped[orders.OrderPlaced](s.orders.Store())
}

// Pending returns the number of OrderPlaced events in the outbox: events
// not known to be published.
func (s *Store) Pending() int {
	items, err := s.outbox().List(context.Background(), outboxPrefix, store.ListOptions{})
	if err != nil {
		return 0
	}
	return len(items)
}

// pend writes e to the outbox.
func (s *Store) pend(ctx context.Context, e orders.OrderPlaced) error {
	_, err := s.outbox().Put(ctx, outboxPrefix+e.OrderID, e, store.PutOptions{Create: true})
	return err
}

// unpend deletes the outbox record of the order id. A record that stays
// is published again by Republish, or dropped when its order does not
// exist.
func (s *Store) unpend(ctx context.Context, id string) error {
	err := s.outbox().Delete(ctx, outboxPrefix+id, store.DeleteOptions{})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// placedEvent returns the OrderPlaced of o, placed now.
func placedEvent(o orders.Order) orders.OrderPlaced {
	return orders.OrderPlaced{OrderID: o.OrderID, SKU: o.SKU, Qty: o.Qty,
		ReservationID: o.ReservationID, PlacedAt: time.Now().UTC()}
}

// publish publishes e, whose order is stored, and deletes its outbox
// record once it is published. A failure is logged and leaves the record
// for Republish: the order stands either way.
func (s *Store) publish(ctx context.Context, e orders.OrderPlaced) error {
	if err := orders.Placed.Publish(ctx, e, events.MessageID(e.OrderID)); err != nil {
		log.For(ctx).Warn("orders: OrderPlaced not published yet; it stays in the outbox to be published again",
			zap.String("order_id", e.OrderID), zap.Error(err))
		return err
	}
	if err := s.unpend(ctx, e.OrderID); err != nil {
		log.For(ctx).Warn("orders: OrderPlaced published, but its outbox record could not be deleted; it will be published again",
			zap.String("order_id", e.OrderID), zap.Error(err))
	}
	return nil
}

// Republish publishes the OrderPlaced events that have been in the
// outbox for longer than age, and deletes their records; an event whose
// order does not exist (Place failed after writing it) is deleted without
// being published. ctx must carry the catalog (catalog.NewContext) whose
// store and event bus to use. Republish returns the number of events it
// published, and the first error it met. It goes on after an error,
// except a transient failure to publish (the event bus unavailable, its
// circuit breaker open), which ends the pass: the rest would fail alike.
//
// An age of at least PlaceBudget leaves alone the events that a Place
// under way is still publishing.
func Republish(ctx context.Context, age time.Duration) (int, error) {
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return 0, err
	}
	items, err := s.outbox().List(ctx, outboxPrefix, store.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("orders: list the outbox: %w", err)
	}
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	n := 0
	for _, it := range items {
		e := it.Value
		if time.Since(e.PlacedAt) < age {
			continue
		}
		if _, _, err := s.orders.Get(ctx, "order."+e.OrderID); errors.Is(err, store.ErrNotFound) {
			if err := s.unpend(ctx, e.OrderID); err != nil {
				keep(err)
			}
			continue
		} else if err != nil {
			keep(err)
			continue
		}
		if err := s.publish(ctx, e); err != nil {
			keep(err)
			if errs.KindOf(err).Transient() {
				// The bus is down or its breaker open: the events after
				// this one would fail the same way, each with its
				// warning. The next pass tries again.
				break
			}
			continue
		}
		n++
	}
	return n, first
}

// RunOutbox calls Republish(ctx, PlaceBudget) every interval, and once at
// once, until ctx ends; it logs what it republished and its errors. The
// orders deployable runs it while it runs; cat is its catalog.
func RunOutbox(ctx context.Context, cat *catalog.Catalog, every time.Duration) {
	ctx = catalog.NewContext(ctx, cat)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := Republish(ctx, PlaceBudget)
		if n > 0 {
			log.For(ctx).Info("orders: republished OrderPlaced events from the outbox", zap.Int("events", n))
		}
		if err != nil && ctx.Err() == nil {
			log.For(ctx).Warn("orders: the outbox could not republish every event", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
