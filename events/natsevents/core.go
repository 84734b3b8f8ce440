package natsevents

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/internal/redelivery"
	"github.com/wegomesh/wego/log"
)

// Engine is what the backends need of the NATS engine: its connection.
// Package engine's *Engine is one; the application starts it before the
// backend publishes or subscribes, and closes it after.
type Engine interface {
	Conn() *nats.Conn
}

// Core is the NATS core backend (kind "nats"): at most once.
//
// An event is published on the subject named after its topic, with its
// metadata in headers where it has any ([events.HeaderCorrelationID],
// [events.HeaderContentType], [events.HeaderMessageID],
// [events.HeaderAuthorization]: see [Header]). Each subscriber group is a
// queue group on that subject: the replicas of a deployable share the
// events, each delivered to one of them. Nothing is stored: an event
// published while no member of a group is subscribed, or while the
// connection is down for longer than its reconnect buffer lasts, never
// reaches that group; one that a subscriber holds when its process dies
// is lost; and a subscriber that falls far behind is a slow consumer,
// whose pending events the client drops (the engine logs it). Publish
// returns once the event is in the connection's buffer.
//
// A delivery that fails with a retryable error is delivered again from
// the process after the back-off, while the retry policy allows (see
// [events.Settle]); then, or at once on a permanent error, the event is
// dead-lettered through the subscription's hook. Close drains the
// subscriptions — the events already received are delivered — and
// dead-letters the events waiting for a redelivery with
// [events.ReasonStopped].
type Core struct {
	eng Engine

	mu       sync.Mutex // serializes Subscribe and Close
	subs     []*coreSub
	closed   atomic.Bool
	draining atomic.Bool
	base     context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // deliveries and redelivery timers

	// gate orders the start of a delivery (wg.Add) before Close's wait
	// for them: once sealed, a message that a subscription's goroutine
	// still holds (Close's time ran out before it was delivered) is
	// dropped instead.
	gate   sync.RWMutex
	sealed bool

	timers *redelivery.Timers[*held] // redeliveries waiting
}

type coreSub struct {
	sub  events.Subscription
	h    events.Handler
	ctx  context.Context // the deliveries' (see events.SubscriptionContext)
	sem  chan struct{}   // a slot per delivery under way
	nsub *nats.Subscription
}

// held is a received event and the subscription it is for.
type held struct {
	s   *coreSub
	d   events.Delivery // Attempt: the deliveries made
	err error           // the last delivery's, while it waits for a redelivery
}

var _ events.Backend = (*Core)(nil)

// flushTimeout bounds the wait for the server to confirm a subscription
// when the subscribing context has no deadline of its own.
const flushTimeout = 10 * time.Second

// NewCore returns a NATS core backend on eng's connection. It does no
// I/O.
func NewCore(eng Engine) *Core {
	c := &Core{eng: eng}
	c.timers = redelivery.New[*held](&c.wg)
	c.base, c.cancel = context.WithCancel(context.Background())
	return c
}

// Kind returns "nats".
func (c *Core) Kind() string { return "nats" }

func (c *Core) conn() (*nats.Conn, error) {
	if c.closed.Load() {
		return nil, events.ErrClosed.New()
	}
	nc := c.eng.Conn()
	if nc == nil {
		return nil, errs.Unavailable().WithCause(errors.New("natsevents: the NATS engine has not started"))
	}
	return nc, nil
}

// Publish writes msg on the subject of its topic, with its metadata in
// headers, to the connection's buffer.
func (c *Core) Publish(ctx context.Context, msg events.Message) error {
	nc, err := c.conn()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m := &nats.Msg{Subject: msg.Topic, Data: msg.Data, Header: Header(msg)}
	if err := nc.PublishMsg(m); err != nil {
		return errs.Unavailable().WithCause(fmt.Errorf("natsevents: publish on %s: %w", msg.Topic, err))
	}
	return nil
}

// Header returns the NATS headers of msg's metadata, or nil when it has
// none to send. It is the one place where the backend decides what an
// event carries besides its payload, and it sends only what carries
// information, since a message with headers costs the server more:
//
//   - Content-Type only when msg names one: WeGO's events are JSON and
//     leave it out, and a subscriber takes a missing content type as
//     JSON; a publisher that names another keeps it, and the subscribers
//     dead-letter the event.
//   - X-Correlation-Id only when the publisher had a request id, which
//     the subscriber's delivery runs with.
//   - Nats-Msg-Id only when the publisher gave a message id, which the
//     subscriber's delivery and dead letters carry (NATS core does not
//     de-duplicate by it).
//   - Authorization only when the publisher has a credential (auth on):
//     the subscriber's server chain judges the delivery by it. The
//     publisher's account (msg.Account) stays in the process.
func Header(msg events.Message) nats.Header {
	var h nats.Header
	set := func(name, v string) {
		if h == nil {
			h = make(nats.Header, 4)
		}
		h[name] = []string{v}
	}
	if msg.ContentType != "" {
		set(events.HeaderContentType, msg.ContentType)
	}
	if !msg.CorrelationID.IsZero() {
		set(events.HeaderCorrelationID, msg.CorrelationID.String())
	}
	if msg.ID != "" {
		set(events.HeaderMessageID, msg.ID)
	}
	if msg.Authorization != "" {
		set(events.HeaderAuthorization, msg.Authorization)
	}
	return h
}

// Message returns the event that m carries, its metadata from the headers
// that [Header] writes. A correlation id that is not a valid request id is
// dropped (the delivery then runs with a new one).
func Message(m *nats.Msg) events.Message {
	msg := events.Message{Topic: m.Subject, Data: m.Data}
	if m.Header != nil {
		msg.ID = m.Header.Get(events.HeaderMessageID)
		msg.ContentType = m.Header.Get(events.HeaderContentType)
		msg.Authorization = m.Header.Get(events.HeaderAuthorization)
		if id, err := log.ParseRequestID(m.Header.Get(events.HeaderCorrelationID)); err == nil {
			msg.CorrelationID = id
		}
	}
	return msg
}

// Subscribe subscribes to the topic's subject in the queue group of
// sub.Group, and returns once the server knows of the subscription.
func (c *Core) Subscribe(ctx context.Context, sub events.Subscription, h events.Handler) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining.Load() {
		return events.ErrClosed.New()
	}
	nc, err := c.conn()
	if err != nil {
		return err
	}
	sub.Concurrency = max(sub.Concurrency, 1)
	s := &coreSub{sub: sub, h: h, ctx: events.SubscriptionContext(ctx, c.base), sem: make(chan struct{}, sub.Concurrency)}
	s.nsub, err = nc.QueueSubscribe(sub.Topic, sub.Group, func(m *nats.Msg) { c.receive(s, m) })
	if err != nil {
		return fmt.Errorf("natsevents: subscribe to %s in queue group %s: %w", sub.Topic, sub.Group, err)
	}
	if _, ok := ctx.Deadline(); !ok { // FlushWithContext needs one
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, flushTimeout)
		defer cancel()
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		_ = s.nsub.Unsubscribe()
		return fmt.Errorf("natsevents: subscribe to %s: %w", sub.Topic, err)
	}
	c.subs = append(c.subs, s)
	return nil
}

// receive runs in the subscription's goroutine, one message at a time: it
// waits for a free slot, which holds back the subscription while its
// deliveries are all under way, and delivers in a goroutine of its own.
func (c *Core) receive(s *coreSub, m *nats.Msg) {
	x := &held{s: s, d: events.Delivery{Message: Message(m), Attempt: 1}}
	select {
	case s.sem <- struct{}{}:
	case <-c.base.Done(): // Close's time ran out: dropped (at most once)
		return
	}
	c.gate.RLock()
	defer c.gate.RUnlock()
	if c.sealed {
		<-s.sem
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.deliver(x)
	}()
}

// deliver delivers x once, in a slot it holds and gives back, and settles
// it.
func (c *Core) deliver(x *held) {
	err := x.s.h(x.s.ctx, &x.d)
	<-x.s.sem
	again, after := events.Settle(x.s.ctx, &x.s.sub, &x.d, err)
	if !again {
		return
	}
	x.err = err
	if !c.timers.After(x, after, c.redeliver) {
		c.stop(x) // Close has begun
	}
}

// redeliver delivers x again once its back-off has passed.
func (c *Core) redeliver(x *held) {
	select {
	case x.s.sem <- struct{}{}:
		x.d.Attempt++
		c.deliver(x)
	case <-c.base.Done():
		c.stop(x)
	}
}

// stop dead-letters x, which the backend gives up on as it stops while
// x waits for a redelivery: with the deliveries made and the last one's
// error.
func (c *Core) stop(x *held) {
	dl := events.NewDeadLetter(&x.s.sub, &x.d, events.ReasonStopped, x.err)
	if x.s.sub.DeadLetter != nil {
		x.s.sub.DeadLetter(x.s.ctx, dl)
	}
}

// Close drains the subscriptions: the server stops sending, and the
// events already received are delivered, until ctx ends. Events waiting
// for a redelivery are dead-lettered with [events.ReasonStopped]; what is
// still received but undelivered when ctx ends is dropped (at most once).
// The connection stays open: it is the engine's. Later calls return nil.
func (c *Core) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining.Swap(true) {
		return nil
	}
	for _, x := range c.timers.Stop() {
		c.stop(x)
	}
	var errList []error
	for _, s := range c.subs {
		closed := s.nsub.StatusChanged(nats.SubscriptionClosed)
		if err := s.nsub.Drain(); err != nil {
			continue // the connection is closed: nothing more arrives
		}
		select {
		case <-closed:
		case <-ctx.Done():
			n, _, _ := s.nsub.Pending()
			_ = s.nsub.Unsubscribe()
			errList = append(errList, fmt.Errorf("natsevents: %s: %d events received and not delivered when the stop's time ran out: %w",
				s.sub.Name, n, ctx.Err()))
		}
	}
	c.gate.Lock()
	c.sealed = true
	c.gate.Unlock()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errList = append(errList, fmt.Errorf("natsevents: deliveries still under way when the stop's time ran out: %w", ctx.Err()))
	}
	c.closed.Store(true)
	c.cancel()
	return errors.Join(errList...)
}

func init() {
	events.RegisterKind("nats", func(_ events.Config, engine any, _ *zap.Logger) (events.Backend, error) {
		e, ok := engine.(Engine)
		if !ok || engine == nil {
			return nil, errors.New("the nats backend needs the NATS engine: configure the nats section (and import github.com/wegomesh/wego/transport/nats, which links it)")
		}
		return NewCore(e), nil
	})
}
