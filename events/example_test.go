package events_test

import (
	"context"
	"fmt"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/log"
)

type OrderPlaced struct {
	OrderID string `json:"order_id"`
	SKU     string `json:"sku"`
	Qty     int    `json:"qty"`
}

// A service declares a topic, another subscribes to it, and a bus carries
// the events: here the in-process backend in synchronous mode, as in a
// test. The subscriber runs with the publisher's request id.
func Example() {
	cat := catalog.New() // programs use catalog.Default: events.NewTopic, events.Subscribe
	placed, _ := events.NewTopicIn[OrderPlaced](cat, "orders.OrderPlaced")
	_, _ = events.SubscribeIn(cat, "shipping.OnOrderPlaced", placed, func(ctx context.Context, e OrderPlaced) error {
		id, _ := log.RequestIDFrom(ctx)
		fmt.Printf("ship %d %s for order %s (request %s)\n", e.Qty, e.SKU, e.OrderID, id)
		return nil
	})

	bus := events.NewBus(cat, events.NewMemory(events.MemoryConfig{Synchronous: true}))
	ctx := catalog.NewContext(context.Background(), cat)
	if err := bus.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Stop(ctx)

	id, _ := log.ParseRequestID("req-7")
	err := placed.Publish(log.ContextWithRequestID(ctx, id), OrderPlaced{OrderID: "o-42", SKU: "apple", Qty: 2})
	fmt.Println("published:", err)
	// Output:
	// ship 2 apple for order o-42 (request req-7)
	// published: <nil>
}

// A message that cannot succeed is dead-lettered: at once for a permanent
// error (invalid_argument), after the retry policy's last delivery for any
// other.
func ExampleOnDeadLetter() {
	cat := catalog.New()
	placed, _ := events.NewTopicIn[OrderPlaced](cat, "orders.OrderPlaced")
	_, _ = events.SubscribeIn(cat, "shipping.OnOrderPlaced", placed, func(_ context.Context, e OrderPlaced) error {
		if e.Qty <= 0 {
			return errs.InvalidArgument(errs.Field("qty", "must be positive"))
		}
		return errs.Unavailable() // the carrier is down
	}, events.MaxDeliveries(3))

	bus := events.NewBus(cat, events.NewMemory(events.MemoryConfig{Synchronous: true}),
		events.OnDeadLetter(func(_ context.Context, dl *events.DeadLetter) {
			fmt.Printf("%s: %s after %d deliveries (%s): %s\n", dl.Subscriber, dl.Reason, dl.Deliveries, dl.Code, dl.Data)
		}))
	ctx := catalog.NewContext(context.Background(), cat)
	_ = bus.Start(ctx)
	defer bus.Stop(ctx)

	_ = placed.Publish(ctx, OrderPlaced{OrderID: "o-1", Qty: 0})
	_ = placed.Publish(ctx, OrderPlaced{OrderID: "o-2", Qty: 1})
	// Output:
	// shipping.OnOrderPlaced: terminated after 1 deliveries (invalid_argument): {"order_id":"o-1","sku":"","qty":0}
	// shipping.OnOrderPlaced: max_deliveries after 3 deliveries (unavailable): {"order_id":"o-2","sku":"","qty":1}
}
