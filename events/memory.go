package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wegomesh/wego/events/internal/redelivery"
)

// Memory is the in-process backend, the default: events go from the
// publishers of a process to the subscriptions of the same process, and
// none outlives it.
//
// Publish copies the event into the queue of each subscriber group of
// its topic and returns: the subscribers of one group (see [Group]) share
// a queue, and each event reaches one of them. While a queue is full,
// Publish waits — back-pressure on the publisher — until there is room,
// the backend stops ([ErrClosed])
// or ctx ends (its error, which errs sees as canceled or
// deadline_exceeded); a publish that ends so may have reached some of the
// topic's subscriptions already. Each subscription's deliveries run on
// [Subscription.Concurrency] goroutines. A delivery that fails with a
// retryable error is delivered again after the back-off, from the
// process, until the retry policy's last delivery; then, or at once on a
// permanent error, the message is dead-lettered (see [Settle]).
//
// In synchronous mode ([MemoryConfig.Synchronous]), for tests, Publish
// delivers to each subscription of the topic in the publisher's goroutine
// and with its context, retries included but without waiting for the
// back-off, and returns once every delivery is settled. It returns nil
// whatever the subscribers did, as in asynchronous mode, so that code
// that publishes behaves the same in tests; a subscriber's failures end
// in dead letters, which a test reads from its hook ([OnDeadLetter]).
//
// Close delivers what the queues hold, events that those deliveries
// publish included, and waits for the deliveries under way, until its
// context ends. Messages waiting for a redelivery, and messages still
// queued when the context ends, are dead-lettered with [ReasonStopped]:
// the backend keeps nothing, but loses nothing silently.
type Memory struct {
	cfg MemoryConfig

	mu     sync.Mutex                         // serializes Subscribe and Close
	topics atomic.Pointer[map[string][]*msub] // copied on write
	closed atomic.Bool                        // Publish and Subscribe fail
	done   chan struct{}                      // closed with closed: workers and waiting publishers return
	active atomic.Int64                       // publishers inside Publish
	base   context.Context                    // the deliveries' context
	cancel context.CancelFunc                 // ends base when Close's context ends
	wg     sync.WaitGroup                     // workers and redelivery timers

	pending  atomic.Int64 // deliveries queued, under way or waiting for a redelivery
	draining atomic.Bool
	idle     chan struct{} // signaled when pending drops to 0 while draining

	timers *redelivery.Timers[*mitem] // redeliveries waiting
}

type msub struct {
	sub   Subscription
	h     Handler
	ctx   context.Context // the deliveries' (see SubscriptionContext)
	queue chan *mitem     // its group's, shared by the group's members
	group *mgroup
}

// mgroup is the subscriptions of one topic that share a group. The
// topic's list holds its first member, whose queue they all read.
type mgroup struct {
	members atomic.Pointer[[]*msub] // copied on write, under Memory.mu
	next    atomic.Uint64           // synchronous mode's turn
}

// mitem is one delivery of a message to a subscriber group, with its own
// copy of the payload. Pooled.
type mitem struct {
	s   *msub    // the member that delivers it (the group's first while queued)
	d   Delivery // Attempt: the deliveries made, once one has failed
	err error    // the last delivery's error, while a redelivery is due
	buf []byte
}

var items = sync.Pool{New: func() any { return new(mitem) }}

// maxPooledPayload is the largest payload buffer an item keeps when it
// goes back to the pool.
const maxPooledPayload = 64 << 10

var _ Backend = (*Memory)(nil)

// NewMemory returns an in-process backend. A zero QueueSize is 1024.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultConfig().Memory.QueueSize
	}
	m := &Memory{cfg: cfg, done: make(chan struct{}), idle: make(chan struct{}, 1)}
	m.timers = redelivery.New[*mitem](&m.wg)
	m.base, m.cancel = context.WithCancel(context.Background())
	m.topics.Store(&map[string][]*msub{})
	return m
}

// Kind returns "memory".
func (m *Memory) Kind() string { return "memory" }

// Publish queues msg for each subscription of its topic, or, in
// synchronous mode, delivers it to each. See [Memory]. The message's
// metadata travels as it is, with no headers to encode: what the bus
// left unset (see [Message]) is unset in the delivery too.
func (m *Memory) Publish(ctx context.Context, msg Message) error {
	m.active.Add(1)
	defer m.active.Add(-1)
	if m.closed.Load() {
		return ErrClosed.New()
	}
	for _, s := range (*m.topics.Load())[msg.Topic] {
		it := items.Get().(*mitem)
		it.s = s
		it.buf = append(it.buf[:0], msg.Data...)
		it.d = Delivery{Message: msg, Attempt: 1}
		it.d.Data = it.buf
		m.pending.Add(1)
		if m.cfg.Synchronous {
			members := *s.group.members.Load()
			it.s = members[(s.group.next.Add(1)-1)%uint64(len(members))]
			m.deliverNow(ctx, it)
			continue
		}
		select {
		case s.queue <- it:
			continue
		default:
		}
		select {
		case s.queue <- it:
		case <-ctx.Done():
			m.release(it)
			return fmt.Errorf("events: publish %s: the queue of %s is full: %w", msg.Topic, s.sub.Name, ctx.Err())
		case <-m.done:
			m.release(it)
			return ErrClosed.New()
		}
	}
	return nil
}

// deliverNow delivers it in the caller's goroutine until it is settled:
// synchronous mode.
func (m *Memory) deliverNow(ctx context.Context, it *mitem) {
	for {
		err := it.s.h(ctx, &it.d)
		if again, _ := Settle(ctx, &it.s.sub, &it.d, err); !again {
			break
		}
		it.d.Attempt++
	}
	m.release(it)
}

// Subscribe starts sub.Concurrency workers that deliver the queue of the
// subscription's group to h (none in synchronous mode).
func (m *Memory) Subscribe(ctx context.Context, sub Subscription, h Handler) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.draining.Load() {
		return ErrClosed.New()
	}
	sub.Concurrency = max(sub.Concurrency, 1)
	s := &msub{sub: sub, h: h, ctx: SubscriptionContext(ctx, m.base)}
	old := *m.topics.Load()
	var lead *msub
	for _, o := range old[sub.Topic] {
		if sub.Group != "" && o.sub.Group == sub.Group {
			lead = o
			break
		}
	}
	if lead != nil { // a member of a group the topic has
		s.queue, s.group = lead.queue, lead.group
		members := *lead.group.members.Load()
		grown := append(append(make([]*msub, 0, len(members)+1), members...), s)
		lead.group.members.Store(&grown)
	} else {
		s.queue, s.group = make(chan *mitem, m.cfg.QueueSize), new(mgroup)
		s.group.members.Store(&[]*msub{s})
		next := make(map[string][]*msub, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		next[sub.Topic] = append(append([]*msub(nil), old[sub.Topic]...), s)
		m.topics.Store(&next)
	}
	if m.cfg.Synchronous {
		return nil
	}
	for range sub.Concurrency {
		m.wg.Add(1)
		go m.work(s)
	}
	return nil
}

func (m *Memory) work(s *msub) {
	defer m.wg.Done()
	for {
		select {
		case it := <-s.queue:
			if m.closed.Load() {
				m.stop(it)
				continue
			}
			it.s = s
			m.deliver(it)
		case <-m.done:
			return
		}
	}
}

// deliver delivers it once and settles it: done, dead-lettered, or due
// again after the back-off.
func (m *Memory) deliver(it *mitem) {
	if it.err != nil { // a redelivery
		it.d.Attempt++
	}
	err := it.s.h(it.s.ctx, &it.d)
	again, after := Settle(it.s.ctx, &it.s.sub, &it.d, err)
	if !again {
		m.release(it)
		return
	}
	it.err = err
	if !m.timers.After(it, after, m.redeliver) {
		m.stop(it) // Close has begun
	}
}

// redeliver queues it again once its back-off has passed.
func (m *Memory) redeliver(it *mitem) {
	select {
	case it.s.queue <- it:
	case <-m.done:
		m.stop(it)
	}
}

// stop dead-letters it, which the backend gives up on because it stops:
// with the deliveries made and the last one's error, if any.
func (m *Memory) stop(it *mitem) {
	dl := NewDeadLetter(&it.s.sub, &it.d, ReasonStopped, it.err)
	if it.err == nil {
		dl.Deliveries = 0 // queued, never delivered
	}
	if it.s.sub.DeadLetter != nil {
		it.s.sub.DeadLetter(it.s.ctx, dl)
	}
	m.release(it)
}

// release puts it back in the pool and counts it done.
func (m *Memory) release(it *mitem) {
	buf := it.buf
	if cap(buf) > maxPooledPayload {
		buf = nil
	}
	*it = mitem{buf: buf[:0]}
	items.Put(it)
	if m.pending.Add(-1) == 0 && m.draining.Load() {
		select {
		case m.idle <- struct{}{}:
		default:
		}
	}
}

// Close stops the backend: see [Memory]. Later calls return nil at once.
func (m *Memory) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.draining.Swap(true) {
		return nil
	}
	// Redeliveries waiting for their back-off are given up on: their
	// time may be long past the stop.
	for _, it := range m.timers.Stop() {
		m.stop(it)
	}
	// Drain: what is queued and under way, and what that publishes.
	var err error
	for err == nil && m.pending.Load() > 0 {
		select {
		case <-m.idle:
		case <-ctx.Done():
			err = fmt.Errorf("events: memory backend: %d deliveries not done when the stop's time ran out: %w", m.pending.Load(), ctx.Err())
			m.cancel() // ask the deliveries under way to end
		}
	}
	m.closed.Store(true)
	close(m.done)
	for m.active.Load() > 0 && ctx.Err() == nil { // publishers waiting for room see done
		time.Sleep(50 * time.Microsecond)
	}
	// What a drain cut short left in the queues (workers stop what they
	// take from now on, too).
	for _, subs := range *m.topics.Load() {
		for _, s := range subs {
			m.stopQueued(s)
		}
	}
	workers := make(chan struct{})
	go func() { m.wg.Wait(); close(workers) }()
	select {
	case <-workers:
	case <-ctx.Done():
		m.cancel()
		return errors.Join(err, fmt.Errorf("events: memory backend: deliveries still under way when the stop's time ran out: %w", ctx.Err()))
	}
	m.cancel()
	return err
}

// stopQueued dead-letters what s's queue holds.
func (m *Memory) stopQueued(s *msub) {
	for {
		select {
		case it := <-s.queue:
			m.stop(it)
		default:
			return
		}
	}
}
