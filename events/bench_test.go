package events_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/log"
)

// benchBus returns a topic of a catalog with empty chains and one
// subscriber that counts what it receives, on a running bus over backend.
func benchBus(b *testing.B, backend events.Backend) (*events.Topic[placed], context.Context, *atomic.Int64, func()) {
	b.Helper()
	cat := catalog.New()
	tp, err := events.NewTopicIn[placed](cat, "orders.Placed")
	if err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(context.Context, placed) error {
		got.Add(1)
		return nil
	}, events.Concurrency(1)); err != nil {
		b.Fatal(err)
	}
	bus := events.NewBus(cat, backend)
	ctx := log.ContextWithRequestID(catalog.NewContext(context.Background(), cat), log.NewRequestID())
	if err := bus.Start(ctx); err != nil {
		b.Fatal(err)
	}
	return tp, ctx, &got, func() { _ = bus.Stop(context.Background()) }
}

// In-process delivery, publish to the subscriber's entry, synchronous:
// encoding, the topic's and the subscriber's (empty) chains, decoding.
func BenchmarkPublishSync(b *testing.B) {
	tp, ctx, got, stop := benchBus(b, events.NewMemory(events.MemoryConfig{Synchronous: true}))
	defer stop()
	ev := placed{OrderID: "o-42", Qty: 2}
	b.ReportAllocs()
	for b.Loop() {
		if err := tp.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	if got.Load() == 0 {
		b.Fatal("nothing delivered")
	}
}

// In-process delivery through the queue: publish b.N events and wait
// until the subscriber has them all.
func BenchmarkPublishAsync(b *testing.B) {
	tp, ctx, got, stop := benchBus(b, events.NewMemory(events.MemoryConfig{QueueSize: 1024}))
	defer stop()
	ev := placed{OrderID: "o-42", Qty: 2}
	b.ReportAllocs()
	n := int64(0)
	for b.Loop() {
		if err := tp.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for got.Load() < n {
		runtime.Gosched()
	}
}
