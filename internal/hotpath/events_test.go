package hotpath_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/log"
)

type placed struct {
	OrderID string `json:"order_id"`
	Qty     int    `json:"qty"`
}

// eventBus starts a bus over backend on a catalog with empty chains, a
// topic and a subscriber that counts what it receives.
func eventBus(t *testing.T, backend events.Backend) (*events.Topic[placed], context.Context, *atomic.Int64) {
	t.Helper()
	c := catalog.New()
	tp, err := events.NewTopicIn[placed](c, "orders.Placed")
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	if _, err := events.SubscribeIn(c, "shipping.OnPlaced", tp, func(_ context.Context, p placed) error {
		if p.OrderID != "o-42" || p.Qty != 2 {
			t.Errorf("delivered %+v", p)
		}
		got.Add(1)
		return nil
	}, events.Concurrency(1)); err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus(c, backend)
	ctx := log.ContextWithRequestID(catalog.NewContext(context.Background(), c), log.NewRequestID())
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Stop(context.Background()) })
	return tp, ctx, &got
}

// In-process delivery, publish to the subscriber's entry, with empty
// chains: the context of the delivery, which carries the correlation id,
// and the string of the payload, decoded into the subscriber's value.
func TestEventDelivery(t *testing.T) {
	skipUnderRace(t)
	ev := placed{OrderID: "o-42", Qty: 2}

	tp, ctx, got := eventBus(t, events.NewMemory(events.MemoryConfig{Synchronous: true}))
	allocs(t, "in-process delivery, synchronous", 2, func() { _ = tp.Publish(ctx, ev) })
	if got.Load() < runs {
		t.Fatalf("%d of %d delivered", got.Load(), runs)
	}

	tp, ctx, got = eventBus(t, events.NewMemory(events.MemoryConfig{}))
	allocs(t, "in-process delivery through the queue", 2, func() {
		n := got.Load()
		_ = tp.Publish(ctx, ev)
		for got.Load() == n {
			runtime.Gosched()
		}
	})
}
