package events_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/middleware/logging"
	"github.com/wegomesh/wego/middleware/recovery"
	"github.com/wegomesh/wego/middleware/requestid"
)

// No test leaves a goroutine behind: a stopped bus stops its backend's
// workers and timers.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type placed struct {
	OrderID string `json:"order_id"`
	Qty     int    `json:"qty"`
}

// A topic and a subscriber of catalog.Default, as a service declares them.
var (
	orderPlaced = events.NewTopic[placed]("testorders.Placed", events.Doc("An order was placed."))
	onPlaced    = events.Subscribe("testshipping.OnPlaced", orderPlaced, func(context.Context, placed) error { return nil },
		events.Doc("Ships the order."))
)

// letters collects dead letters.
type letters struct {
	mu   sync.Mutex
	list []*events.DeadLetter
	ch   chan *events.DeadLetter
}

func newLetters() *letters { return &letters{ch: make(chan *events.DeadLetter, 100)} }

func (l *letters) hook(_ context.Context, dl *events.DeadLetter) {
	l.mu.Lock()
	l.list = append(l.list, dl)
	l.mu.Unlock()
	l.ch <- dl
}

func (l *letters) all() []*events.DeadLetter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

func (l *letters) next(t *testing.T) *events.DeadLetter {
	t.Helper()
	select {
	case dl := <-l.ch:
		return dl
	case <-time.After(5 * time.Second):
		t.Fatal("no dead letter")
		return nil
	}
}

// start starts a bus on cat with backend, stopped when the test ends, and
// returns it with a context that carries cat.
func start(t *testing.T, cat *catalog.Catalog, backend events.Backend, opts ...events.BusOption) (*events.Bus, context.Context) {
	t.Helper()
	bus := events.NewBus(cat, backend, opts...)
	ctx := catalog.NewContext(t.Context(), cat)
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bus.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return bus, ctx
}

func syncMemory() *events.Memory { return events.NewMemory(events.MemoryConfig{Synchronous: true}) }

func topicIn[T any](t *testing.T, cat *catalog.Catalog, name string, opts ...events.TopicOption) *events.Topic[T] {
	t.Helper()
	tp, err := events.NewTopicIn[T](cat, name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func subscribeIn[T any](t *testing.T, cat *catalog.Catalog, name string, tp *events.Topic[T], fn func(context.Context, T) error, opts ...events.SubscriberOption) *events.Subscriber[T] {
	t.Helper()
	s, err := events.SubscribeIn(cat, name, tp, fn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not %s after 5s", what)
		}
	}
}

// The publisher's request id is the event's correlation id, and the
// subscriber's request id: in its context, its log line and its audit
// record.
func TestCorrelationIDEndToEnd(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	logger := zap.New(core)
	lcfg := logging.DefaultConfig()
	lcfg.SuccessLevel = "info"
	lmw, err := logging.New(lcfg, logging.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	sink := &auditSink{}
	acfg := audit.DefaultConfig()
	acfg.All = true
	amw, err := audit.New(acfg, audit.WithSink(sink))
	if err != nil {
		t.Fatal(err)
	}
	rid, err := requestid.New(requestid.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(rid, lmw, amw)
	tp := topicIn[placed](t, cat, "orders.Placed")
	got := make(chan context.Context, 1)
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(ctx context.Context, p placed) error { got <- ctx; return nil })
	_, ctx := start(t, cat, events.NewMemory(events.MemoryConfig{}))

	id := log.NewRequestID()
	if err := tp.Publish(log.ContextWithRequestID(ctx, id), placed{OrderID: "o1", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	sctx := <-got
	if rid, ok := log.RequestIDFrom(sctx); !ok || rid.String() != id.String() {
		t.Errorf("subscriber's request id %v, want the publisher's %v", rid, id)
	}
	if cmd, _ := log.CommandFrom(sctx); cmd != "shipping.OnPlaced" {
		t.Errorf("subscriber's command %q", cmd)
	}
	eventually(t, "logged and audited", func() bool { return logs.Len() > 0 && sink.len() > 0 })
	line := logs.All()[0]
	if line.ContextMap()[log.RequestIDKey] != id.String() || line.ContextMap()[log.CommandKey] != "shipping.OnPlaced" {
		t.Errorf("log line %v", line.ContextMap())
	}
	if r := sink.first(); r.RequestID.String() != id.String() || r.Command != "shipping.OnPlaced" || r.Side != "server" {
		t.Errorf("audit record %+v", r)
	}

	// Without a request id, the publish gets one, which the subscriber sees.
	if err := tp.Publish(ctx, placed{OrderID: "o2"}); err != nil {
		t.Fatal(err)
	}
	if rid, ok := log.RequestIDFrom(<-got); !ok || rid.IsZero() {
		t.Error("no request id in the subscriber's context")
	}
}

type auditSink struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (s *auditSink) Write(_ context.Context, r *audit.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, *r)
	return nil
}
func (s *auditSink) Close() error { return nil }
func (s *auditSink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}
func (s *auditSink) first() audit.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recs[0]
}

// tracer records the order in which its middleware run, with the side
// and the kind they were composed for.
type tracer struct {
	mu  sync.Mutex
	log []string
}

func (tr *tracer) mw(name string) middleware.Middleware {
	return middleware.WrapFunc(func(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error {
			tr.mu.Lock()
			tr.log = append(tr.log, fmt.Sprintf("%s %s %s/%s", name, spec.Name, spec.Side, spec.Kind))
			tr.mu.Unlock()
			return next(ctx, c)
		}
	})
}

// Publishing runs the topic's client chain, the global chain outside the
// topic's own, and no server chain; a delivery runs the subscriber's
// server chain, the global chain outside its own, then the function.
func TestChainOrder(t *testing.T) {
	t.Parallel()
	tr := &tracer{}
	cat := catalog.New()
	cat.SetChains([]middleware.Middleware{tr.mw("s1"), tr.mw("s2")}, []middleware.Middleware{tr.mw("c1"), tr.mw("c2")})
	tp := topicIn[placed](t, cat, "orders.Placed", events.CatalogOptions(catalog.ClientSide(tr.mw("topic"))))
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(context.Context, placed) error {
		tr.mu.Lock()
		tr.log = append(tr.log, "function")
		tr.mu.Unlock()
		return nil
	}, events.CatalogOptions(catalog.ServerSide(tr.mw("sub"))))
	_, ctx := start(t, cat, syncMemory())
	if err := tp.Publish(ctx, placed{OrderID: "o1"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"c1 orders.Placed client/event", "c2 orders.Placed client/event", "topic orders.Placed client/event",
		"s1 shipping.OnPlaced server/event", "s2 shipping.OnPlaced server/event", "sub shipping.OnPlaced server/event",
		"function",
	}
	if !slices.Equal(tr.log, want) {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(tr.log, "\n"), strings.Join(want, "\n"))
	}
}

// A subscriber's panic is a failed delivery, redelivered, with or
// without the recovery middleware in the server chain.
func TestPanicIsAFailedDelivery(t *testing.T) {
	t.Parallel()
	rec, err := recovery.New(recovery.DefaultConfig(), recovery.WithLogger(zap.NewNop()))
	if err != nil {
		t.Fatal(err)
	}
	for _, chain := range [][]middleware.Middleware{nil, {rec}} {
		cat := catalog.New()
		cat.UseServerSide(chain...)
		tp := topicIn[placed](t, cat, "orders.Placed")
		var calls int
		subscribeIn(t, cat, "shipping.OnPlaced", tp, func(context.Context, placed) error {
			calls++
			if calls == 1 {
				panic("boom")
			}
			return nil
		}, events.MaxDeliveries(3))
		dead := newLetters()
		_, ctx := start(t, cat, syncMemory(), events.OnDeadLetter(dead.hook), events.WithLogger(zap.NewNop()))
		if err := tp.Publish(ctx, placed{OrderID: "o1"}); err != nil {
			t.Fatal(err)
		}
		if calls != 2 || len(dead.all()) != 0 {
			t.Errorf("recovery in chain %v: %d calls, dead letters %v", chain != nil, calls, dead.all())
		}

		// One that always panics ends in a dead letter.
		tp2 := topicIn[placed](t, cat, "orders.Panics")
		subscribeIn(t, cat, "shipping.OnPanics", tp2, func(context.Context, placed) error { panic("always") }, events.MaxDeliveries(2))
		dead2 := newLetters()
		_, ctx2 := start(t, cat, syncMemory(), events.OnDeadLetter(dead2.hook), events.WithLogger(zap.NewNop()))
		if err := tp2.Publish(ctx2, placed{}); err != nil {
			t.Fatal(err)
		}
		dl := dead2.all()
		if len(dl) != 1 || dl[0].Reason != events.ReasonMaxDeliveries || dl[0].Deliveries != 2 || dl[0].Code != "internal" ||
			!strings.Contains(dl[0].Error, "always") {
			t.Errorf("recovery in chain %v: dead letters %+v", chain != nil, dl)
		}
	}
}

// What cannot succeed is dead-lettered at once: a subscriber's
// invalid_argument, an undecodable payload, a content type that is not
// JSON, a payload over the limit; a retryable error is retried up to the
// maximum of deliveries.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	var mu sync.Mutex
	calls := map[string]int{}
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(_ context.Context, p placed) error {
		mu.Lock()
		calls[p.OrderID]++
		mu.Unlock()
		switch p.OrderID {
		case "invalid":
			return errs.InvalidArgument(errs.Field("order_id", "is not one of ours"))
		case "flaky":
			return errs.Unavailable()
		}
		return nil
	}, events.MaxDeliveries(3))
	dead := newLetters()
	bus, ctx := start(t, cat, syncMemory(), events.OnDeadLetter(dead.hook), events.WithLogger(zap.NewNop()),
		events.WithConfig(withMaxBytes(64)))
	id := log.NewRequestID()
	raw := func(ct, data string) {
		t.Helper()
		err := bus.Backend().Publish(ctx, events.Message{Topic: "orders.Placed", ID: "m1", CorrelationID: id, ContentType: ct, Data: []byte(data)})
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		publish    func()
		reason     events.Reason
		code       string
		deliveries int
	}{
		{"invalid argument", func() { _ = tp.Publish(ctx, placed{OrderID: "invalid"}) }, events.ReasonTerminated, "invalid_argument", 1},
		{"retryable", func() { _ = tp.Publish(ctx, placed{OrderID: "flaky"}) }, events.ReasonMaxDeliveries, "unavailable", 3},
		{"undecodable", func() { raw("application/json", `{"order_id": 7}`) }, events.ReasonTerminated, "events.undecodable", 1},
		{"unknown field", func() { raw("", `{"order":"x"}`) }, events.ReasonTerminated, "events.undecodable", 1},
		{"not JSON", func() { raw("application/xml", `<order/>`) }, events.ReasonTerminated, "events.unsupported_content_type", 1},
		{"too large", func() { raw("application/json", `{"order_id":"`+strings.Repeat("x", 100)+`"}`) }, events.ReasonTerminated, "events.too_large", 1},
	}
	for _, tt := range tests {
		tt.publish()
		dl := dead.next(t)
		if dl.Reason != tt.reason || dl.Code != tt.code || dl.Deliveries != tt.deliveries || dl.Topic != "orders.Placed" ||
			dl.Subscriber != "shipping.OnPlaced" || dl.Group != "shipping.OnPlaced" || dl.Error == "" || len(dl.Data) == 0 {
			t.Errorf("%s: %+v", tt.name, dl)
		}
	}
	if calls["invalid"] != 1 || calls["flaky"] != 3 {
		t.Errorf("calls %v", calls)
	}
	raw("application/json; charset=utf-8", `{"order_id":"fine"}`)
	if calls["fine"] != 1 || len(dead.all()) != len(tests) {
		t.Errorf("a JSON payload with a charset: calls %v, %d dead letters", calls, len(dead.all()))
	}
	if dl := dead.all()[2]; dl.MessageID != "m1" || dl.CorrelationID != id.String() || dl.ContentType != "application/json" {
		t.Errorf("a raw message's metadata: %+v", dl)
	}
}

func withMaxBytes(n int) events.Config {
	cfg := events.DefaultConfig()
	cfg.MaxBytes = n
	return cfg
}

// Publishing fails with typed errors, never a panic: no bus, a value that
// cannot be encoded, an event over the limit.
func TestPublishErrors(t *testing.T) {
	t.Parallel()
	type odd struct{ F float64 }
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	ctx := catalog.NewContext(t.Context(), cat)
	if err := tp.Publish(ctx, placed{}); !errors.Is(err, events.ErrNotRunning) || errs.KindOf(err) != errs.KindUnavailable {
		t.Errorf("no bus: %v", err)
	}
	nan := topicIn[odd](t, cat, "orders.Odd")
	_, ctx = start(t, cat, syncMemory(), events.WithConfig(withMaxBytes(32)))
	if err := nan.Publish(ctx, odd{F: math.NaN()}); !errors.Is(err, events.ErrUnencodable) || errs.KindOf(err) != errs.KindInternal {
		t.Errorf("NaN: %v", err)
	}
	err := tp.Publish(ctx, placed{OrderID: strings.Repeat("x", 40)})
	if e, ok := errs.As(err); !ok || !errors.Is(err, events.ErrTooLarge) || e.Message() != "The event is 63 bytes, over the limit of 32 bytes." {
		t.Errorf("too large: %v", err)
	}
}

// A fake replaces a subscriber in a test's catalog like a command, and a
// topic too: handles of catalog.Default reach the test's copy through the
// context.
func TestReplacement(t *testing.T) {
	t.Parallel()
	cat, ctx := catalogtest.New(t)
	rec := catalogtest.Fake(t, cat, onPlaced.Command(), struct{}{}, nil)
	start(t, cat, syncMemory())
	if err := orderPlaced.Publish(ctx, placed{OrderID: "o1", Qty: 2}); err != nil {
		t.Fatal(err)
	}
	if got := rec.Calls(); len(got) != 1 || got[0] != (placed{OrderID: "o1", Qty: 2}) {
		t.Fatalf("the fake subscriber got %v", got)
	}

	// A fake topic records publications without a bus.
	cat2, ctx2 := catalogtest.New(t)
	pub := catalogtest.Fake(t, cat2, orderPlaced.Command(), struct{}{}, nil)
	if err := orderPlaced.Publish(ctx2, placed{OrderID: "o2"}); err != nil {
		t.Fatal(err)
	}
	if got := pub.Calls(); len(got) != 1 || got[0].OrderID != "o2" {
		t.Fatalf("the fake topic got %v", got)
	}

	// A subscriber runs through its chains when called, without a bus.
	if _, err := onPlaced.Command().Call(ctx, placed{OrderID: "o3"}); err != nil || len(rec.Calls()) != 2 {
		t.Fatalf("call: %v, %v", err, rec.Calls())
	}
}

// Topics and subscribers are listed with the catalog's commands, with
// their kind, topic and group.
func TestListing(t *testing.T) {
	t.Parallel()
	e, ok := catalog.Default.Entry("testshipping.OnPlaced")
	if !ok {
		t.Fatal("the subscriber is not listed")
	}
	spec := e.Spec()
	topic, _ := events.TopicKey.Get(spec.Attributes)
	group, _ := events.GroupKey.Get(spec.Attributes)
	if spec.Kind != middleware.Event || topic != "testorders.Placed" || group != "testshipping.OnPlaced" || spec.Doc != "Ships the order." ||
		!e.Local() || e.Routed() || !strings.HasSuffix(e.Site(), "events_test.go:44") {
		t.Errorf("subscriber: %+v, topic %q, group %q, site %s", spec, topic, group, e.Site())
	}
	if onPlaced.Name() != "testshipping.OnPlaced" || onPlaced.Topic() != "testorders.Placed" || onPlaced.Group() != "testshipping.OnPlaced" {
		t.Errorf("handle: %s %s %s", onPlaced.Name(), onPlaced.Topic(), onPlaced.Group())
	}
	te, _ := catalog.Default.Entry("testorders.Placed")
	if te.Spec().Kind != middleware.Event || te.Local() || !te.Routed() || !strings.HasSuffix(te.Site(), "events_test.go:43") {
		t.Errorf("topic: %+v, site %s", te.Spec(), te.Site())
	}
}

// Bad names and options are rejected at declaration, with a
// *catalog.RegistrationError that names the caller's line.
func TestRegistrationErrors(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	for _, name := range []string{"", "orders", "orders.*", "orders.>", "orders.Order Placed", "orders..Placed", "orders.Placé"} {
		_, err := events.NewTopicIn[placed](cat, name)
		var re *catalog.RegistrationError
		if !errors.As(err, &re) || !errors.Is(err, catalog.ErrInvalidName) || !strings.Contains(re.Site, "events_test.go") {
			t.Errorf("topic %q: %v", name, err)
		}
	}
	tp := topicIn[placed](t, cat, "orders.Placed")
	if _, err := events.NewTopicIn[int](cat, "orders.Placed"); !errors.Is(err, catalog.ErrTypeMismatch) {
		t.Errorf("a topic declared again with another type: %v", err)
	}
	if _, err := catalog.RegisterIn(cat, "orders.Placed", func(context.Context, placed) (struct{}, error) { return struct{}{}, nil }); !errors.Is(err, catalog.ErrTypeMismatch) {
		t.Errorf("a command over a topic: %v", err)
	}
	if again, err := events.NewTopicIn[placed](cat, "orders.Placed"); err != nil || again.Command() != tp.Command() {
		t.Errorf("a topic declared again: %v", err)
	}
	fn := func(context.Context, placed) error { return nil }
	subscribeIn(t, cat, "shipping.OnPlaced", tp, fn)
	bad := []struct {
		name string
		tp   *events.Topic[placed]
		fn   func(context.Context, placed) error
		opts []events.SubscriberOption
		want error
	}{
		{"shipping.OnPlaced", tp, fn, nil, catalog.ErrDuplicate},
		{"shipping.Nil", nil, fn, nil, catalog.ErrNotRegistered},
		{"shipping.NilFunc", tp, nil, nil, catalog.ErrNilFunc},
		{"shipping.Group", tp, fn, []events.SubscriberOption{events.Group("a b")}, catalog.ErrInvalidName},
		{"shipping.Max", tp, fn, []events.SubscriberOption{events.MaxDeliveries(-1)}, events.ErrInvalidOption},
		{"shipping.Backoff", tp, fn, []events.SubscriberOption{events.Backoff(time.Second, time.Millisecond)}, events.ErrInvalidOption},
		{"bad", tp, fn, nil, catalog.ErrInvalidName},
	}
	for _, b := range bad {
		_, err := events.SubscribeIn(cat, b.name, b.tp, b.fn, b.opts...)
		var re *catalog.RegistrationError
		if !errors.Is(err, b.want) || !errors.As(err, &re) || !strings.Contains(re.Site, "events_test.go") {
			t.Errorf("%s: %v", b.name, err)
		}
	}
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Error("NewTopic with a bad name did not panic")
			} else if re, ok := v.(*catalog.RegistrationError); !ok || !strings.Contains(re.Site, "events_test.go") {
				t.Errorf("panic %v", v)
			}
		}()
		events.NewTopic[placed]("bad topic")
	}()
}

// Async delivery: a failing event is delivered again after the back-off,
// without holding back the events behind it.
func TestRetriesDoNotBlock(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	var mu sync.Mutex
	var seen []string
	var firstFail time.Time
	var retryAt time.Time
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(_ context.Context, p placed) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, p.OrderID)
		if p.OrderID == "poison" {
			if firstFail.IsZero() {
				firstFail = time.Now()
				return errs.Unavailable()
			}
			retryAt = time.Now()
		}
		return nil
	}, events.Concurrency(1), events.Backoff(50*time.Millisecond, time.Second))
	_, ctx := start(t, cat, events.NewMemory(events.MemoryConfig{}))
	for _, id := range []string{"poison", "a", "b"} {
		if err := tp.Publish(ctx, placed{OrderID: id}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "delivered again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 4
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []string{"poison", "a", "b", "poison"}) {
		t.Errorf("order %v", seen)
	}
	if d := retryAt.Sub(firstFail); d < 40*time.Millisecond {
		t.Errorf("redelivered after %v, want the back-off of 50ms ±20%%", d)
	}
}

// A full queue holds the publisher back until there is room or its
// context ends.
func TestBackPressure(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	release, entered := make(chan struct{}), make(chan struct{}, 3)
	var n sync.WaitGroup
	n.Add(3)
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(context.Context, placed) error {
		entered <- struct{}{}
		<-release
		n.Done()
		return nil
	}, events.Concurrency(1))
	_, ctx := start(t, cat, events.NewMemory(events.MemoryConfig{QueueSize: 1}))
	if err := tp.Publish(ctx, placed{OrderID: "1"}); err != nil {
		t.Fatal(err)
	}
	<-entered                                                     // taken by the worker
	if err := tp.Publish(ctx, placed{OrderID: "2"}); err != nil { // queued
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err := tp.Publish(short, placed{OrderID: "3"})
	if !errors.Is(err, context.DeadlineExceeded) || errs.KindOf(err) != errs.KindDeadlineExceeded {
		t.Fatalf("publish to a full queue: %v", err)
	}
	done := make(chan error)
	go func() { done <- tp.Publish(ctx, placed{OrderID: "3"}) }()
	select {
	case err := <-done:
		t.Fatalf("publish to a full queue returned %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n.Wait()
}

// A delivery that waits for its back-off when the bus stops is
// dead-lettered, once, as stopped after the one delivery it had; its
// timer does not deliver it later.
func TestStopDeadLettersWaitingRedelivery(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	var calls atomic.Int32
	after := make(chan struct{})
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(_ context.Context, p placed) error {
		if p.OrderID == "fail" {
			calls.Add(1)
			return errs.Unavailable()
		}
		close(after)
		return nil
	}, events.Concurrency(1), events.Backoff(time.Second, time.Second))
	dead := newLetters()
	bus := events.NewBus(cat, events.NewMemory(events.MemoryConfig{}), events.OnDeadLetter(dead.hook), events.WithLogger(zap.NewNop()))
	ctx := catalog.NewContext(t.Context(), cat)
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"fail", "after"} {
		if err := tp.Publish(ctx, placed{OrderID: id}); err != nil {
			t.Fatal(err)
		}
	}
	<-after // one worker: "fail" failed and waits for its redelivery
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // past the back-off
	if n := calls.Load(); n != 1 {
		t.Errorf("the failing event was delivered %d times, want 1", n)
	}
	if dl := dead.all(); len(dl) != 1 || dl[0].Reason != events.ReasonStopped || dl[0].Deliveries != 1 ||
		dl[0].Code != "unavailable" || dl[0].Error == "" {
		t.Errorf("dead letters %+v, want one, stopped after 1 delivery, with that delivery's error", dl)
	}
}

// TestMemoryGroupsShare: the subscribers of one group share the topic's
// events, each event reaching one of them, in either mode; another group
// receives every event.
func TestMemoryGroupsShare(t *testing.T) {
	t.Parallel()
	for _, synchronous := range []bool{false, true} {
		t.Run(fmt.Sprintf("synchronous=%v", synchronous), func(t *testing.T) {
			t.Parallel()
			cat := catalog.New()
			tp := topicIn[placed](t, cat, "orders.Placed")
			var mu sync.Mutex
			seen := map[string][]string{} // order id -> subscribers
			count := func(name string) func(context.Context, placed) error {
				return func(_ context.Context, p placed) error {
					mu.Lock()
					seen[p.OrderID] = append(seen[p.OrderID], name)
					mu.Unlock()
					return nil
				}
			}
			for _, name := range []string{"billing.A", "billing.B"} {
				subscribeIn(t, cat, name, tp, count(name), events.Group("billing"))
			}
			subscribeIn(t, cat, "audit.OnPlaced", tp, count("audit"))
			bus := events.NewBus(cat, events.NewMemory(events.MemoryConfig{Synchronous: synchronous}), events.WithLogger(zap.NewNop()))
			ctx := catalog.NewContext(t.Context(), cat)
			if err := bus.Start(ctx); err != nil {
				t.Fatal(err)
			}
			const n = 100
			for i := range n {
				if err := tp.Publish(ctx, placed{OrderID: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := bus.Stop(stopCtx); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			members := map[string]int{}
			for id, subs := range seen {
				billing := 0
				audit := 0
				for _, s := range subs {
					if s == "audit" {
						audit++
					} else {
						billing++
						members[s]++
					}
				}
				if billing != 1 || audit != 1 {
					t.Errorf("event %s reached %v: want one member of billing, and audit", id, subs)
				}
			}
			if len(seen) != n {
				t.Errorf("%d events delivered, want %d", len(seen), n)
			}
			if synchronous && (members["billing.A"] != n/2 || members["billing.B"] != n/2) {
				t.Errorf("synchronous mode gave the members %v, want them in turn", members)
			}
		})
	}
}

// Stop delivers what is queued, and dead-letters what waits for a
// redelivery; publishing after it fails.
func TestStopDrains(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	var mu sync.Mutex
	got := 0
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(_ context.Context, p placed) error {
		if p.OrderID == "fail" {
			return errs.Unavailable()
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		got++
		mu.Unlock()
		return nil
	}, events.Concurrency(2), events.Backoff(time.Hour, time.Hour))
	dead := newLetters()
	bus := events.NewBus(cat, events.NewMemory(events.MemoryConfig{}), events.OnDeadLetter(dead.hook), events.WithLogger(zap.NewNop()))
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
	if err := bus.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got != 50 {
		t.Errorf("%d of 50 delivered before the stop returned", got)
	}
	if dl := dead.all(); len(dl) != 1 || dl[0].Reason != events.ReasonStopped || dl[0].Deliveries != 1 || dl[0].Code != "unavailable" && dl[0].Code != "" {
		t.Errorf("dead letters %+v", dl)
	}
	if err := tp.Publish(ctx, placed{}); !errors.Is(err, events.ErrNotRunning) {
		t.Errorf("publish after the stop: %v", err)
	}
	if err := bus.Backend().Publish(ctx, events.Message{Topic: "orders.Placed"}); !errors.Is(err, events.ErrClosed) {
		t.Errorf("publish to a closed backend: %v", err)
	}
}

// The message id of a publication and the publisher's request id reach
// the backend, and nothing else; the bus's defaults and the subscriber's
// options make its subscription.
func TestBackendSeesMessageAndSubscription(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(context.Context, placed) error { return nil },
		events.Group("shipping"), events.MaxDeliveries(7), events.ReplayFrom(42), events.Concurrency(3))
	subscribeIn(t, cat, "billing.OnPlaced", tp, func(context.Context, placed) error { return nil }, events.Backoff(time.Millisecond, time.Second))
	fake := &recorder{}
	bus, ctx := start(t, cat, fake, events.WithConfig(events.DefaultConfig()))
	id := log.NewRequestID()
	if err := tp.Publish(log.ContextWithRequestID(ctx, id), placed{OrderID: "o1"}, events.MessageID("order-o1")); err != nil {
		t.Fatal(err)
	}
	m := fake.msgs[0]
	if m.Topic != "orders.Placed" || m.ID != "order-o1" || m.CorrelationID != id || m.ContentType != "" ||
		string(m.Data) != `{"order_id":"o1","qty":0}` {
		t.Errorf("message %+v %s", m, m.Data)
	}
	// Without a request id or a message id, the message carries neither:
	// a backend with headers sends none.
	if err := tp.Publish(ctx, placed{OrderID: "o2"}); err != nil {
		t.Fatal(err)
	}
	if m := fake.msgs[1]; m.ID != "" || !m.CorrelationID.IsZero() || m.ContentType != "" {
		t.Errorf("message without a request id: %+v", m)
	}
	subs := bus.Subscriptions()
	if len(subs) != 2 || len(fake.subs) != 2 {
		t.Fatalf("subscriptions %+v", subs)
	}
	b, s := subs[0], subs[1]
	def := events.DefaultConfig()
	if b.Name != "billing.OnPlaced" || b.Group != "billing.OnPlaced" || b.Retry.MaxDeliveries != def.Retry.MaxDeliveries ||
		b.Retry.MinBackoff != time.Millisecond || b.Retry.MaxBackoff != time.Second || b.Concurrency != def.Concurrency || b.DeadLetter == nil {
		t.Errorf("billing: %+v", b)
	}
	if s.Name != "shipping.OnPlaced" || s.Topic != "orders.Placed" || s.Group != "shipping" || s.Retry.MaxDeliveries != 7 ||
		s.Retry.MinBackoff != def.Retry.MinBackoff || s.Start != (events.Position{From: events.FromSequence, Sequence: 42}) || s.Concurrency != 3 {
		t.Errorf("shipping: %+v", s)
	}
}

// recorder is a backend that records what it is given.
type recorder struct {
	msgs []events.Message
	subs []events.Subscription
}

func (r *recorder) Kind() string { return "recorder" }
func (r *recorder) Publish(_ context.Context, m events.Message) error {
	m.Data = slices.Clone(m.Data)
	r.msgs = append(r.msgs, m)
	return nil
}
func (r *recorder) Subscribe(_ context.Context, s events.Subscription, _ events.Handler) error {
	r.subs = append(r.subs, s)
	return nil
}
func (r *recorder) Close(context.Context) error { return nil }

// The outcome rules, and the back-off's bounds.
func TestOutcomeOfAndBackoff(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]events.Outcome{
		nil:                         events.Ack,
		errs.InvalidArgument():      events.Terminate,
		events.ErrUndecodable.New(): events.Terminate,
		errs.NotFound():             events.Retry,
		errs.Internal():             events.Retry,
		context.DeadlineExceeded:    events.Retry,
		errors.New("plain"):         events.Retry,
		fmt.Errorf("wrapped: %w", errs.InvalidArgument()): events.Terminate,
	} {
		if got := events.OutcomeOf(err); got != want {
			t.Errorf("OutcomeOf(%v) = %v, want %v", err, got, want)
		}
	}
	p := events.RetryPolicy{MaxDeliveries: 10, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 9: time.Second} {
		for range 20 {
			if d := p.Backoff(attempt); d < want*8/10 || d > want*12/10 {
				t.Errorf("Backoff(%d) = %v, want %v ±20%%", attempt, d, want)
			}
		}
	}
}

// The configuration's checks name the keys.
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cfg := events.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Backend, cfg.MaxBytes, cfg.Concurrency = "No Such", 0, 0
	cfg.Retry.MaxDeliveries, cfg.Retry.MaxBackoff = 0, time.Millisecond
	cfg.Memory.QueueSize = 0
	err := cfg.Validate()
	for _, key := range []string{"backend", "max_bytes", "concurrency", "retry.max_deliveries", "retry.max_backoff", "memory.queue_size"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s not named in %v", key, err)
		}
	}
	if !slices.Contains(events.Kinds(), "memory") {
		t.Errorf("kinds %v", events.Kinds())
	}
}

// A dead letter travels as JSON, its payload in base64.
func TestDeadLetterJSON(t *testing.T) {
	t.Parallel()
	sub := &events.Subscription{Name: "shipping.OnPlaced", Group: "shipping"}
	d := &events.Delivery{Message: events.Message{Topic: "orders.Placed", ID: "m1", Data: []byte(`{"a":1}`)}, Attempt: 3, Sequence: 9}
	dl := events.NewDeadLetter(sub, d, events.ReasonMaxDeliveries, errs.Unavailable())
	d.Data[0] = 'X'
	if string(dl.Data) != `{"a":1}` || dl.Deliveries != 3 || dl.Sequence != 9 || dl.Code != "unavailable" || dl.Group != "shipping" {
		t.Errorf("%+v", dl)
	}
}
