package jsevents_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/jsevents"
	"github.com/wegomesh/wego/log"
)

// No test leaves a goroutine behind: a closed backend has no pull,
// worker or watch left, and a closed engine no server. The child
// processes of the kill tests skip the check.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type placed struct {
	OrderID string `json:"order_id"`
	Qty     int    `json:"qty"`
}

// embedded starts an engine with an embedded JetStream server on a free
// port, in a temporary directory; closed when the test ends.
func embedded(t testing.TB) *engine.Engine { return enginetest.Start(t) }

// client starts an engine connected to url, as another process's,
// reconnecting quickly.
func client(t testing.TB, url string) *engine.Engine { return enginetest.Client(t, url) }

// testConfig is the default configuration with short waits.
func testConfig() events.JetStreamConfig {
	cfg := events.DefaultConfig().JetStream
	cfg.AckWait = 2 * time.Second
	return cfg
}

// service is one deployable's catalog on its own backend: the topic and,
// unless subscriber is empty, a subscriber that hands what it receives to
// got once fn returns nil.
type service struct {
	cat     *catalog.Catalog
	topic   *events.Topic[placed]
	backend *jsevents.Backend
	bus     *events.Bus
	ctx     context.Context
	got     chan delivery
	dead    chan *events.DeadLetter
}

type delivery struct {
	p   placed
	rid string
}

type serviceOpts struct {
	cfg  *events.JetStreamConfig
	fn   func(context.Context, placed) error
	opts []events.SubscriberOption
	name string // the subscriber's; empty for none
	// onDead replaces the hook that sends dead letters to the service's
	// channel.
	onDead func(*events.DeadLetter)
}

func newService(t testing.TB, eng jsevents.Engine, o serviceOpts) *service {
	t.Helper()
	cfg := testConfig()
	if o.cfg != nil {
		cfg = *o.cfg
	}
	s := &service{cat: catalog.New(), got: make(chan delivery, 10000), dead: make(chan *events.DeadLetter, 1000)}
	var err error
	if s.topic, err = events.NewTopicIn[placed](s.cat, "orders.Placed"); err != nil {
		t.Fatal(err)
	}
	if o.name != "" {
		if _, err := events.SubscribeIn(s.cat, o.name, s.topic, func(ctx context.Context, p placed) error {
			if o.fn != nil {
				if err := o.fn(ctx, p); err != nil {
					return err
				}
			}
			id, _ := log.RequestIDFrom(ctx)
			s.got <- delivery{p: p, rid: id.String()}
			return nil
		}, o.opts...); err != nil {
			t.Fatal(err)
		}
	}
	s.backend = jsevents.New(eng, cfg, zap.NewNop())
	onDead := o.onDead
	if onDead == nil {
		onDead = func(dl *events.DeadLetter) { s.dead <- dl }
	}
	s.bus = events.NewBus(s.cat, s.backend, events.WithLogger(zap.NewNop()),
		events.OnDeadLetter(func(_ context.Context, dl *events.DeadLetter) { onDead(dl) }))
	s.ctx = catalog.NewContext(context.Background(), s.cat)
	if err := s.bus.Start(s.ctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { s.stop(t) }) })
	return s
}

func (s *service) stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.bus.Stop(ctx); err != nil {
		t.Error(err)
	}
}

func receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("nothing received in 30s")
		panic("unreachable")
	}
}

func none[T any](t testing.TB, ch <-chan T, wait time.Duration) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("received %+v", v)
	case <-time.After(wait):
	}
}

// js returns the JetStream API of eng.
func js(t testing.TB, eng *engine.Engine) jetstream.JetStream {
	t.Helper()
	j, err := eng.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	return j
}

const topicStream = "EVENTS_orders_Placed"
