package natsevents_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/natsevents"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/log"
	_ "github.com/wegomesh/wego/transport/nats" // the engine of applications
)

// No test leaves a goroutine behind: a closed backend has no subscription,
// delivery or timer left, and a closed engine no server.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type placed struct {
	OrderID string `json:"order_id"`
	Qty     int    `json:"qty"`
}

// embedded starts an engine with an embedded server on a free port,
// without JetStream, closed when the test ends.
func embedded(t *testing.T) *engine.Engine { return enginetest.Start(t, enginetest.NoJetStream()) }

// client starts an engine connected to url, as another process's.
func client(t *testing.T, url string) *engine.Engine { return enginetest.Client(t, url) }

// service is one deployable's catalog: the topic and a subscriber that
// hands what it receives to got.
type service struct {
	cat   *catalog.Catalog
	topic *events.Topic[placed]
	bus   *events.Bus
	ctx   context.Context
	got   chan delivery
	dead  chan *events.DeadLetter
}

type delivery struct {
	p   placed
	rid string
}

func newService(t *testing.T, eng natsevents.Engine, subscriber string, fn func(placed) error, opts ...events.SubscriberOption) *service {
	t.Helper()
	s := &service{cat: catalog.New(), got: make(chan delivery, 1000), dead: make(chan *events.DeadLetter, 100)}
	var err error
	if s.topic, err = events.NewTopicIn[placed](s.cat, "orders.Placed"); err != nil {
		t.Fatal(err)
	}
	if subscriber != "" {
		if _, err := events.SubscribeIn(s.cat, subscriber, s.topic, func(ctx context.Context, p placed) error {
			id, _ := log.RequestIDFrom(ctx)
			if fn != nil {
				if err := fn(p); err != nil {
					return err
				}
			}
			s.got <- delivery{p: p, rid: id.String()}
			return nil
		}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	s.bus = events.NewBus(s.cat, natsevents.NewCore(eng), events.WithLogger(zap.NewNop()),
		events.OnDeadLetter(func(_ context.Context, dl *events.DeadLetter) { s.dead <- dl }))
	s.ctx = catalog.NewContext(t.Context(), s.cat)
	if err := s.bus.Start(s.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.bus.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received in 5s")
		panic("unreachable")
	}
}

// An event crosses NATS on the subject of its topic, with the headers
// that carry information: its correlation id and message id when it has
// them, never a content type (JSON); the subscriber runs with the
// publisher's request id, or a new one.
func TestPublishAndDeliver(t *testing.T) {
	eng := embedded(t)
	sub := newService(t, eng, "shipping.OnPlaced", nil)
	pub := newService(t, client(t, eng.ClientURL()), "", nil)

	raw := make(chan *nats.Msg, 1)
	rs, err := eng.Conn().ChanSubscribe("orders.Placed", raw)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rs.Unsubscribe() }()
	if err := eng.Conn().Flush(); err != nil {
		t.Fatal(err)
	}

	id := log.NewRequestID()
	if err := pub.topic.Publish(log.ContextWithRequestID(pub.ctx, id), placed{OrderID: "o1", Qty: 2}, events.MessageID("o1-placed")); err != nil {
		t.Fatal(err)
	}
	d := receive(t, sub.got)
	if d.p != (placed{OrderID: "o1", Qty: 2}) || d.rid != id.String() {
		t.Errorf("delivered %+v", d)
	}
	m := receive(t, raw)
	if len(m.Header) != 2 || m.Header.Get("X-Correlation-Id") != id.String() ||
		m.Header.Get("Nats-Msg-Id") != "o1-placed" || string(m.Data) != `{"order_id":"o1","qty":2}` {
		t.Errorf("on the wire: %v %s", m.Header, m.Data)
	}
	got := natsevents.Message(m)
	if got.Topic != "orders.Placed" || got.ID != "o1-placed" || got.CorrelationID.String() != id.String() || got.ContentType != "" {
		t.Errorf("Message: %+v", got)
	}

	// Without a request id or a message id: no headers at all.
	if err := pub.topic.Publish(pub.ctx, placed{OrderID: "o2", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	if d := receive(t, sub.got); d.p.OrderID != "o2" || d.rid == "" || d.rid == id.String() {
		t.Errorf("delivered without a correlation id: %+v", d)
	}
	if m := receive(t, raw); len(m.Header) != 0 || string(m.Data) != `{"order_id":"o2","qty":1}` {
		t.Errorf("on the wire without a request id: %v %s", m.Header, m.Data)
	}
}

// Header sends a header for each piece of metadata a message has, and
// none for what it lacks.
func TestHeader(t *testing.T) {
	id := log.NewRequestID()
	for _, tt := range []struct {
		msg  events.Message
		want nats.Header
	}{
		{events.Message{Topic: "orders.Placed"}, nil},
		{events.Message{Topic: "orders.Placed", CorrelationID: id}, nats.Header{"X-Correlation-Id": {id.String()}}},
		{events.Message{Topic: "orders.Placed", ID: "o1"}, nats.Header{"Nats-Msg-Id": {"o1"}}},
		{events.Message{Topic: "orders.Placed", ContentType: "text/plain"}, nats.Header{"Content-Type": {"text/plain"}}},
		{events.Message{Topic: "orders.Placed", Authorization: "Bearer t"}, nats.Header{"Authorization": {"Bearer t"}}},
	} {
		if got := natsevents.Header(tt.msg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Header(%+v) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

// Replicas of a subscriber share its events in a queue group; another
// group receives them all.
func TestQueueGroups(t *testing.T) {
	eng := embedded(t)
	var a, b atomic.Int64
	count := func(n *atomic.Int64) func(placed) error {
		return func(placed) error { n.Add(1); return nil }
	}
	r1 := newService(t, eng, "shipping.OnPlaced", count(&a))
	r2 := newService(t, client(t, eng.ClientURL()), "shipping.OnPlaced", count(&b))
	audit := newService(t, client(t, eng.ClientURL()), "audit.OnPlaced", nil)
	const n = 200
	for i := range n {
		if err := r1.topic.Publish(r1.ctx, placed{OrderID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		receive(t, audit.got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.Load()+b.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // none more
	if a.Load()+b.Load() != n || a.Load() == 0 || b.Load() == 0 {
		t.Errorf("replicas received %d and %d of %d", a.Load(), b.Load(), n)
	}
	_ = r2
}

// A failing delivery is retried from the process after the back-off, and
// dead-lettered after the last; a payload that does not decode is
// dead-lettered at once.
func TestRetriesAndDeadLetters(t *testing.T) {
	eng := embedded(t)
	var calls atomic.Int64
	s := newService(t, eng, "shipping.OnPlaced", func(p placed) error {
		if p.OrderID == "flaky" && calls.Add(1) < 3 {
			return errs.Unavailable()
		}
		if p.OrderID == "down" {
			return errs.Unavailable()
		}
		return nil
	}, events.MaxDeliveries(3), events.Backoff(5*time.Millisecond, 20*time.Millisecond))
	if err := s.topic.Publish(s.ctx, placed{OrderID: "flaky"}); err != nil {
		t.Fatal(err)
	}
	if d := receive(t, s.got); d.p.OrderID != "flaky" || calls.Load() != 3 {
		t.Errorf("flaky: %+v after %d calls", d, calls.Load())
	}
	if err := s.topic.Publish(s.ctx, placed{OrderID: "down"}); err != nil {
		t.Fatal(err)
	}
	if dl := receive(t, s.dead); dl.Reason != events.ReasonMaxDeliveries || dl.Deliveries != 3 || dl.Code != "unavailable" {
		t.Errorf("down: %+v", dl)
	}
	if err := eng.Conn().Publish("orders.Placed", []byte(`{"order_id":`)); err != nil {
		t.Fatal(err)
	}
	if dl := receive(t, s.dead); dl.Reason != events.ReasonTerminated || dl.Deliveries != 1 || dl.Code != "events.undecodable" ||
		string(dl.Data) != `{"order_id":` {
		t.Errorf("undecodable: %+v", dl)
	}
	m := nats.NewMsg("orders.Placed")
	m.Header.Set("Content-Type", "text/plain")
	m.Data = []byte("hello")
	if err := eng.Conn().PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	if dl := receive(t, s.dead); dl.Code != "events.unsupported_content_type" || dl.ContentType != "text/plain" {
		t.Errorf("text/plain: %+v", dl)
	}
}

// Stop delivers what the subscription has received, dead-letters what
// waits for a redelivery, and leaves the engine's connection open.
func TestStopDrains(t *testing.T) {
	eng := embedded(t)
	cat := catalog.New()
	tp, _ := events.NewTopicIn[placed](cat, "orders.Placed")
	var mu sync.Mutex
	got := 0
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(_ context.Context, p placed) error {
		if p.OrderID == "fail" {
			return errs.Unavailable()
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		got++
		mu.Unlock()
		return nil
	}, events.Concurrency(1), events.Backoff(time.Hour, time.Hour)); err != nil {
		t.Fatal(err)
	}
	dead := make(chan *events.DeadLetter, 10)
	core := natsevents.NewCore(eng)
	bus := events.NewBus(cat, core, events.WithLogger(zap.NewNop()),
		events.OnDeadLetter(func(_ context.Context, dl *events.DeadLetter) { dead <- dl }))
	ctx := catalog.NewContext(t.Context(), cat)
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tp.Publish(ctx, placed{OrderID: "fail"}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := tp.Publish(ctx, placed{OrderID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the server has sent them
	if err := bus.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got != 50 {
		t.Errorf("%d of 50 delivered before the stop returned", got)
	}
	if dl := receive(t, dead); dl.Reason != events.ReasonStopped || dl.Deliveries != 1 || dl.Code == "" || dl.Error == "" {
		t.Errorf("dead letter %+v, want stopped after 1 delivery, with its error", dl)
	}
	if err := core.Publish(ctx, events.Message{Topic: "orders.Placed"}); !errors.Is(err, events.ErrClosed) {
		t.Errorf("publish after close: %v", err)
	}
	if !eng.Ready() {
		t.Error("closing the backend closed the engine's connection")
	}
}

// Before the engine runs, the backend says so.
// TestNoDeliveryAfterAStopThatRanOutOfTime: events that a subscription
// had received, and could not deliver before the stop's time ran out
// (its only worker was busy), are dropped, never delivered after Stop
// returns.
func TestNoDeliveryAfterAStopThatRanOutOfTime(t *testing.T) {
	eng := embedded(t)
	cat := catalog.New()
	tp, _ := events.NewTopicIn[placed](cat, "orders.Placed")
	var calls atomic.Int32
	busy, release := make(chan struct{}), make(chan struct{})
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(context.Context, placed) error {
		if calls.Add(1) == 1 {
			close(busy)
			<-release
		}
		return nil
	}, events.Concurrency(1)); err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus(cat, natsevents.NewCore(eng), events.WithLogger(zap.NewNop()))
	ctx := catalog.NewContext(t.Context(), cat)
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := tp.Publish(ctx, placed{OrderID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	<-busy
	if err := eng.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the others are received, waiting for the worker
	stopCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := bus.Stop(stopCtx); err == nil {
		t.Fatal("Stop returned nil while a delivery was stuck")
	}
	close(release)
	time.Sleep(200 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Errorf("%d deliveries, %d of them after Stop returned", n, n-1)
	}
}

func TestEngineNotStarted(t *testing.T) {
	eng, err := engine.New(engine.DefaultConfig(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	err = natsevents.NewCore(eng).Publish(context.Background(), events.Message{Topic: "orders.Placed"})
	if errs.KindOf(err) != errs.KindUnavailable || !strings.Contains(err.Error(), "not started") {
		t.Errorf("publish: %v", err)
	}
}

// An application with events.backend nats, and no transport of its own,
// runs its subscribers on the NATS engine.
func TestApplication(t *testing.T) {
	cat := catalog.New()
	tp, _ := events.NewTopicIn[placed](cat, "orders.Placed")
	got := make(chan placed, 1)
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(_ context.Context, p placed) error { got <- p; return nil }); err != nil {
		t.Fatal(err)
	}
	a, err := fw.New(fw.Catalog(cat), fw.Logger(zap.NewNop()), fw.ConfigOptions(config.Optional(), config.Overrides(map[string]any{
		"events.backend": "nats", "nats.server.listen": "127.0.0.1:-1", "nats.server.jetstream": false,
	})))
	if err != nil {
		t.Fatal(err)
	}
	if a.Events().Backend().Kind() != "nats" {
		t.Fatalf("backend %s", a.Events().Backend().Kind())
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := a.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	if err := tp.Publish(catalog.NewContext(context.Background(), cat), placed{OrderID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, got); p.OrderID != "o1" {
		t.Errorf("received %+v", p)
	}
}
