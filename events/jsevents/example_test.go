package jsevents_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/jsevents"
)

type OrderPlaced struct {
	OrderID string `json:"order_id"`
	Qty     int    `json:"qty"`
}

// An event published on JetStream is stored before Publish returns, and
// delivered to the subscriber group's durable consumer; one that fails
// for good is dead-lettered, in the dead-letter stream too. An
// application does the same with events.backend: jetstream and this
// package imported.
func Example() {
	dir, _ := os.MkdirTemp("", "jsevents")
	defer os.RemoveAll(dir)
	cfg := engine.DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:-1" // a free port
	cfg.Server.StoreDir = dir
	eng, err := engine.Start(context.Background(), cfg, zap.NewNop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close(context.Background())

	cat := catalog.New() // programs use catalog.Default: events.NewTopic, events.Subscribe
	placed, _ := events.NewTopicIn[OrderPlaced](cat, "orders.OrderPlaced")
	out := make(chan string, 2)
	_, _ = events.SubscribeIn(cat, "shipping.OnOrderPlaced", placed, func(_ context.Context, e OrderPlaced) error {
		if e.Qty <= 0 {
			return errs.InvalidArgument(errs.Field("qty", "must be positive"))
		}
		out <- "ship order " + e.OrderID
		return nil
	}, events.Concurrency(1))

	backend := jsevents.New(eng, events.DefaultConfig().JetStream, zap.NewNop())
	bus := events.NewBus(cat, backend, events.WithLogger(zap.NewNop()),
		events.OnDeadLetter(func(_ context.Context, dl *events.DeadLetter) {
			out <- fmt.Sprintf("dead letter: %s after %d delivery, %s, sequence %d", dl.Reason, dl.Deliveries, dl.Code, dl.Sequence)
		}))
	ctx := catalog.NewContext(context.Background(), cat)
	if err := bus.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Stop(ctx)

	fmt.Println(placed.Publish(ctx, OrderPlaced{OrderID: "o-42", Qty: 2}, events.MessageID("o-42-placed")))
	fmt.Println(placed.Publish(ctx, OrderPlaced{OrderID: "o-43"}))
	for range 2 {
		select {
		case line := <-out:
			fmt.Println(line)
		case <-time.After(10 * time.Second):
			fmt.Println("nothing delivered")
		}
	}
	// Output:
	// <nil>
	// <nil>
	// ship order o-42
	// dead letter: terminated after 1 delivery, invalid_argument, sequence 2
}
