package fw_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/fw"
)

// lifeBackend is an in-process backend that records when it starts,
// subscribes and closes.
type lifeBackend struct {
	*events.Memory
	rec *recorder
}

func (b lifeBackend) Start(context.Context) error { b.rec.add("start:events"); return nil }

func (b lifeBackend) Subscribe(ctx context.Context, s events.Subscription, h events.Handler) error {
	b.rec.add("subscribe:" + s.Name)
	return b.Memory.Subscribe(ctx, s, h)
}

func (b lifeBackend) Close(ctx context.Context) error {
	b.rec.add("close:events")
	return b.Memory.Close(ctx)
}

var (
	eventsMu   sync.Mutex
	eventsRecs = map[int]*recorder{} // by events.memory.queue_size: one per test
)

func init() {
	events.RegisterKind("fwtest", func(cfg events.Config, _ any, _ *zap.Logger) (events.Backend, error) {
		if cfg.Memory.QueueSize == 13 {
			return nil, config.Errorf("fwtest.path", "is required by kind fwtest")
		}
		eventsMu.Lock()
		defer eventsMu.Unlock()
		return lifeBackend{Memory: events.NewMemory(cfg.Memory), rec: eventsRecs[cfg.Memory.QueueSize]}, nil
	})
}

type order struct{ ID string }

// The bus starts after the store and before the transports, and stops
// after the transports, delivering what their last requests published.
func TestEventsLifecycle(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	eventsMu.Lock()
	eventsRecs[7] = rec
	eventsMu.Unlock()
	cat := catalog.New()
	tp, err := events.NewTopicIn[order](cat, "orders.Placed")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(_ context.Context, o order) error {
		mu.Lock()
		got = append(got, o.ID)
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tr := &testTransport{name: "one", rec: rec}
	a, err := appWithConfig(t, cat, "events: {backend: fwtest, memory: {queue_size: 7}}\n", fw.Transports(tr))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// A request of the transport publishes, with the context it gets.
	if err := tp.Publish(catalog.NewContext(ctx, tr.host.Catalog), order{ID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	want := "start:events subscribe:shipping.OnPlaced start:one stop:one close:events"
	if got := rec.String(); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	if len(got) != 1 || got[0] != "o1" {
		t.Fatalf("delivered %v", got)
	}
	if err := tp.Publish(catalog.NewContext(ctx, cat), order{ID: "o2"}); !errors.Is(err, events.ErrNotRunning) {
		t.Fatalf("publish after the stop: %v", err)
	}
}

// The default backend is in memory; the application's bus is reachable.
func TestEventsDefault(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	if _, ok := a.Events().Backend().(*events.Memory); !ok {
		t.Fatalf("the default backend is %T", a.Events().Backend())
	}
	if a.Events().Catalog() != a.Catalog() {
		t.Fatal("the bus runs another catalog")
	}
}

// Dead letters reach the application's hook.
func TestEventsDeadLetterHook(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	tp, _ := events.NewTopicIn[order](cat, "orders.Placed")
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(context.Context, order) error {
		return errs.InvalidArgument()
	}); err != nil {
		t.Fatal(err)
	}
	dead := make(chan *events.DeadLetter, 1)
	a, err := appWithConfig(t, cat, "events: {memory: {synchronous: true}}\n",
		fw.OnDeadLetter(func(_ context.Context, dl *events.DeadLetter) { dead <- dl }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := catalog.NewContext(context.Background(), cat)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(ctx)
	if err := tp.Publish(ctx, order{ID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if dl := <-dead; dl.Subscriber != "shipping.OnPlaced" || dl.Reason != events.ReasonTerminated {
		t.Fatalf("%+v", dl)
	}
}

func TestEventsConfigErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		yaml, key, want string
		is              error
	}{
		{"events: {backend: nats}\n", "events.backend", `add import _ "github.com/wegomesh/wego/events/natsevents"`, fw.ErrEventsNotLinked},
		{"events: {backend: jetstream}\n", "events.backend", `events/jsevents`, fw.ErrEventsNotLinked},
		{"events: {backend: nosuch}\n", "events.backend", `no events backend of kind "nosuch" is linked (linked: `, nil},
		{"events: {retry: {max_deliveries: 0}}\n", "events.retry.max_deliveries", "must be from 1 to 10000", nil},
		{"events: {backend: fwtest, memory: {queue_size: 13}}\n", "events.fwtest.path", "is required by kind fwtest", nil},
		{"events: {backendd: memory}\n", "events.backendd", "unknown key", nil},
		{"events: {jetstream: {storage: disk}}\n", "events.jetstream.storage", "must be file or memory", nil},
		{"events: {jetstream: {ack_backoff: [1s, 0s]}}\n", "events.jetstream.ack_backoff[1]", "at least 1ms", nil},
		{"events: {jetstream: {max_age: 1m, duplicate_window: 2m}}\n", "events.jetstream.duplicate_window", "from 1ms to max_age", nil},
	} {
		_, err := appWithConfig(t, catalog.New(), c.yaml)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != c.key || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want a config error at %s saying %q", c.yaml, err, c.key, c.want)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: New = %v, want an error matching %v", c.yaml, err, c.is)
		}
	}
}
