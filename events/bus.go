package events

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
)

// idle is what BusDep resolves to where no bus runs: its Publish fails
// with ErrNotRunning.
var idle = &Bus{}

// BusDep is the dependency through which topics find the bus that carries
// their events: the running [Bus] of the catalog that the publisher's
// context carries, or of [catalog.Default]. A Bus provides itself in its
// catalog when it starts and puts back what was there when it stops; where
// none runs, publishing fails with [ErrNotRunning].
var BusDep = catalog.Provide("wego.events", idle)

// Bus runs the subscribers of a catalog on a [Backend] and carries the
// events of its topics there. An application (package fw) makes one from
// its events section, starts it after the NATS engine and before its
// transports, and stops it, draining, after them. A test runs its own on
// its catalog:
//
//	cat, ctx := catalogtest.New(t)
//	bus := events.NewBus(cat, events.NewMemory(events.MemoryConfig{Synchronous: true}))
//	if err := bus.Start(ctx); err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(func() { _ = bus.Stop(context.Background()) })
//
// A Bus runs once: Start, then Stop.
type Bus struct {
	cat     *catalog.Catalog
	scope   *catalog.Catalog // cat, when deliveries must carry it in their context
	backend Backend
	cfg     Config
	log     *zap.Logger
	onDead  func(context.Context, *DeadLetter)
	props   []Propagator

	mu      sync.Mutex
	state   int // 0 new, 1 running, 2 stopped
	restore func()
	subs    []Subscription
}

// BusOption configures a [Bus].
type BusOption func(*Bus)

// WithLogger sets the logger of the bus's own lines: dead letters,
// panics, start and stop. Default: log.L().
func WithLogger(l *zap.Logger) BusOption {
	return func(b *Bus) {
		if l != nil {
			b.log = l
		}
	}
}

// WithConfig sets the limit of an event's size and the defaults of the
// subscribers (concurrency, retry policy) from an events section. Default:
// [DefaultConfig].
func WithConfig(cfg Config) BusOption { return func(b *Bus) { b.cfg = cfg } }

// OnDeadLetter sets a function that receives each dead letter, after the
// bus has logged it: to keep, count or alert on them. It runs in the
// backend's delivery goroutine and must not block for long.
func OnDeadLetter(fn func(ctx context.Context, dl *DeadLetter)) BusOption {
	return func(b *Bus) { b.onDead = fn }
}

// Propagator carries what an application adds to events from their
// publishers to their subscribers' deliveries, as a transport's
// propagator does for remote calls. Inject runs for each event published,
// once it is encoded, before the backend has it: it may set
// msg.Authorization and msg.Account, the publisher's credential and
// account. Extract runs for each delivery, before the subscriber's server
// chain, and returns the delivery's context with what the delivery
// carries (ctx itself when there is nothing to add). Both must be safe for
// concurrent use; fw adds the propagator of the service identity, which
// the auth middleware checks deliveries with.
type Propagator interface {
	Inject(ctx context.Context, msg *Message)
	Extract(ctx context.Context, d *Delivery) context.Context
}

// WithPropagators adds propagators to the bus: Inject runs in the order
// given, and so does Extract. Without any, publishing and delivering cost
// nothing more.
func WithPropagators(ps ...Propagator) BusOption {
	return func(b *Bus) {
		for _, p := range ps {
			if p != nil {
				b.props = append(b.props, p)
			}
		}
	}
}

// NewBus returns a bus that will run the subscribers of cat (nil means
// [catalog.Default]) on backend, and carry the events published with a
// context that carries cat. It does no I/O.
func NewBus(cat *catalog.Catalog, backend Backend, opts ...BusOption) *Bus {
	if cat == nil {
		cat = catalog.Default
	}
	b := &Bus{cat: cat, backend: backend, cfg: DefaultConfig(), log: log.L()}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	if cat != catalog.Default {
		b.scope = cat
	}
	return b
}

// Backend returns the bus's backend.
func (b *Bus) Backend() Backend { return b.backend }

// Catalog returns the catalog whose subscribers the bus runs.
func (b *Bus) Catalog() *catalog.Catalog { return b.cat }

// Subscriptions returns the subscriptions the bus started, in the
// catalog's order of names.
func (b *Bus) Subscriptions() []Subscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Subscription(nil), b.subs...)
}

// Start makes the bus the one its catalog's topics publish to ([BusDep])
// and subscribes each subscriber of the catalog, with its options over
// the bus's defaults. It fails, leaving nothing subscribed and the
// backend closed, when a subscription fails.
func (b *Bus) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != 0 {
		return errors.New("events: the bus was started already; a Bus runs once")
	}
	if b.backend == nil {
		return errors.New("events: the bus has no backend")
	}
	b.state = 2 // until it runs
	if s, ok := b.backend.(Starter); ok {
		if err := s.Start(ctx); err != nil {
			return fmt.Errorf("events: start the %s backend: %w", b.backend.Kind(), err)
		}
	}
	if err := b.provide(); err != nil {
		return err
	}
	var names []string
	for _, e := range b.cat.Commands() {
		meta, ok := subscriberKey.Get(e.Spec().Attributes)
		if !ok {
			continue
		}
		sub, h, err := b.subscription(e, meta)
		if err == nil {
			err = b.backend.Subscribe(ctx, sub, h)
		}
		if err != nil {
			err = fmt.Errorf("events: subscribe %s to %s on the %s backend: %w", sub.Name, sub.Topic, b.backend.Kind(), err)
			cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			cancel() // nothing was delivered that needs time to finish
			_ = b.backend.Close(cctx)
			b.restore()
			return err
		}
		b.subs = append(b.subs, sub)
		names = append(names, sub.Name)
	}
	b.state = 1
	level := zap.InfoLevel
	if len(names) == 0 {
		level = zap.DebugLevel // nothing to say for an application without subscribers
	}
	b.log.Log(level, "events: started", zap.String("backend", b.backend.Kind()), zap.Strings("subscribers", names))
	return nil
}

// provide makes b what BusDep resolves to in its catalog, and sets
// b.restore to undo it. Called with b.mu held.
func (b *Bus) provide() error {
	undo, err := catalog.ReplaceDep(b.cat, BusDep, b)
	if errors.Is(err, catalog.ErrNotRegistered) { // a catalog of its own: catalog.New
		if _, err = catalog.ProvideIn(b.cat, BusDep.Name(), b); err == nil {
			undo = func() { _, _ = catalog.ReplaceDep(b.cat, BusDep, idle) }
		}
	}
	if err != nil {
		return fmt.Errorf("events: provide the bus as %s: %w", BusDep.Name(), err)
	}
	b.restore = func() {
		// Unless another bus has taken the catalog since.
		if cur, err := BusDep.From(b.cat); err == nil && cur == b {
			undo()
		}
	}
	return nil
}

// subscription returns the subscription of the subscriber e and the
// handler that delivers to it.
func (b *Bus) subscription(e catalog.Entry, meta subscriberMeta) (Subscription, Handler, error) {
	o := meta.options()
	spec := e.Spec()
	topic, _ := TopicKey.Get(spec.Attributes)
	sub := Subscription{
		Name: spec.Name, Topic: topic, Group: o.group, Start: o.start,
		Retry: b.cfg.Retry.Policy(), Concurrency: b.cfg.Concurrency, DeadLetter: b.deadLetter,
	}
	if o.retry.MaxDeliveries > 0 {
		sub.Retry.MaxDeliveries = o.retry.MaxDeliveries
	}
	if o.retry.MinBackoff > 0 {
		sub.Retry.MinBackoff, sub.Retry.MaxBackoff = o.retry.MinBackoff, o.retry.MaxBackoff
	}
	if o.concurrency > 0 {
		sub.Concurrency = o.concurrency
	}
	h, err := meta.handler(b, e)
	return sub, h, err
}

// Stop stops the backend, which finishes the deliveries under way and, if
// it queues in the process, delivers what it queued, until ctx ends (see
// the backend's Close), and puts back what [BusDep] resolved to before
// Start. A bus that never started stops at once.
func (b *Bus) Stop(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != 1 {
		b.state = 2
		return nil
	}
	b.state = 2
	err := b.backend.Close(ctx)
	b.restore()
	if err != nil {
		b.log.Error("events: stopped with errors", zap.String("backend", b.backend.Kind()), zap.Error(err))
		return fmt.Errorf("events: stop the %s backend: %w", b.backend.Kind(), err)
	}
	b.log.Debug("events: stopped", zap.String("backend", b.backend.Kind()))
	return nil
}

// publish encodes v, a *T of the topic's type, and hands it to the
// backend with the context's request id, if any, as its correlation id.
func (b *Bus) publish(ctx context.Context, topic string, c *jsonCodec, v any) error {
	if b.backend == nil {
		return ErrNotRunning.New(errs.InternalParam("topic", topic))
	}
	buf := payloads.Get().(*[]byte)
	defer putPayload(buf)
	data, err := c.encode((*buf)[:0], v)
	if err != nil {
		return ErrUnencodable.Wrap(err, errs.InternalParam("topic", topic))
	}
	*buf = data[:0] // keep what the encoding grew
	if n := len(data); n > 0 && data[n-1] == '\n' {
		data = data[:n-1]
	}
	if len(data) > b.cfg.MaxBytes {
		return ErrTooLarge.New(errs.P("size", fmt.Sprint(len(data))), errs.P("limit", fmt.Sprint(b.cfg.MaxBytes)),
			errs.InternalParam("topic", topic))
	}
	// The message carries what the publish has and nothing more, so that
	// a backend with headers sends only those that carry information: no
	// content type (JSON, always), the correlation id only when ctx has a
	// request id, the message id only when the publisher gave one (and
	// what the propagators add: the credential when auth is on).
	msg := Message{Topic: topic, Data: data}
	msg.CorrelationID, _ = log.RequestIDFrom(ctx)
	msg.ID, _ = ctx.Value(publishKey{}).(string)
	if len(b.props) > 0 {
		msg = b.inject(ctx, msg)
	}
	return b.backend.Publish(ctx, msg)
}

// inject returns msg as the propagators make it. (A function of its own,
// so that a message published without propagators stays on the stack.)
func (b *Bus) inject(ctx context.Context, msg Message) Message {
	for _, p := range b.props {
		p.Inject(ctx, &msg)
	}
	return msg
}

// deadLetter logs dl and hands it to the application's hook.
func (b *Bus) deadLetter(ctx context.Context, dl *DeadLetter) {
	b.log.Error("events: dead letter",
		zap.String("topic", dl.Topic), zap.String("subscriber", dl.Subscriber), zap.String("group", dl.Group),
		zap.String("reason", string(dl.Reason)), zap.Int("deliveries", dl.Deliveries), zap.String("error", dl.Error),
		zap.String("code", dl.Code), zap.Uint64("sequence", dl.Sequence), zap.String("message_id", dl.MessageID),
		zap.String(log.RequestIDKey, dl.CorrelationID), zap.Int("bytes", len(dl.Data)))
	if b.onDead != nil {
		b.onDead(ctx, dl)
	}
}

// panicked logs a subscriber's panic that its server chain did not
// recover, and returns the error that fails the delivery.
func (b *Bus) panicked(ctx context.Context, name string, v any) error {
	var buf [4]zap.Field
	fields := append(log.AppendFields(ctx, buf[:0]), zap.Any("panic", v), zap.ByteString("stack", debug.Stack()))
	b.log.Error("events: subscriber panicked", fields...)
	return errs.Internal(errs.InternalParam("subscriber", name)).WithCause(fmt.Errorf("events: subscriber %s panicked: %v", name, v))
}
