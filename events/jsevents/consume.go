package jsevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/log"
)

// pullExpiry is how long a pull request waits at the server. nats.go
// checks a pull's heartbeats (every half of it) and pulls again when two
// are missed; its default of 30 s left a subscription idle for a minute
// when a pull went missing (seen under the race detector on a loaded
// machine: the server had no pull waiting while the client counted one).
const pullExpiry = 5 * time.Second

// recoverPause spaces the checks of a subscription's consumer after the
// pulls report trouble (a consumer deleted, no heartbeat, no responders).
const recoverPause = time.Second

// subscription is one subscriber group's durable consumer, read by
// Concurrency workers in this process.
type subscription struct {
	b      *Backend
	sub    events.Subscription
	h      events.Handler
	ctx    context.Context // the deliveries' (see events.SubscriptionContext)
	name   string          // the consumer's
	dlSubj string          // the dead letters' subject
	batch  int             // the most events pulled ahead
	// progress is how often an event that waits for a worker is reported
	// in progress to the server: half the shortest wait for an outcome
	// (ack_wait, and each of ack_backoff).
	progress time.Duration

	work     chan pulled   // from the pulls to the workers
	quit     chan struct{} // closed when the workers stop
	stopping chan struct{} // closed when Close begins
	kick     chan struct{} // asks watch to check the consumer

	// unsure holds the message ids of the dead letters whose store
	// returned an error (the record may be stored, its acknowledgement
	// lost), so that the hook still sees the record when the next
	// delivery finds it stored already; bounded by maxUnsure.
	unsureMu sync.Mutex
	unsure   map[string]struct{}

	mu       sync.Mutex
	draining bool
	stream   string
	created  time.Time // the consumer's, when cc began
	cc       jetstream.ConsumeContext
}

// Subscribe makes sure that a stream stores sub.Topic and that the
// durable consumer of sub.Group exists with the configuration's settings
// (starting where sub.Start says, if it is new), and starts pulling from
// it with sub.Concurrency workers. Replicas that subscribe the same group
// share the consumer: each event goes to one of them.
func (b *Backend) Subscribe(ctx context.Context, sub events.Subscription, h events.Handler) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.draining.Load() {
		return events.ErrClosed.New()
	}
	js, err := b.api()
	if err != nil {
		return err
	}
	if !b.dlq.Load() {
		if err := b.ensureDeadLetters(ctx, js); err != nil {
			return err
		}
	}
	stream, err := b.topicStreamName(ctx, js, sub.Topic)
	if err != nil {
		return err
	}
	cons, err := b.ensureConsumer(ctx, js, stream, &sub)
	if err != nil {
		return err
	}
	sub.Concurrency = max(sub.Concurrency, 1)
	s := &subscription{
		b: b, sub: sub, h: h, ctx: events.SubscriptionContext(ctx, b.base),
		name: ConsumerName(sub.Group), dlSubj: DeadLetterSubject(b.cfg.DeadLetterSubject, sub.Group),
		// As many as the workers, so that an event does not wait long in
		// the client's buffer, where it cannot be reported in progress;
		// at least 2: nats.go's pulls of one message at a time stalled
		// for good now and then (under the race detector, after
		// consumers were killed: TestKillMidDeliveryLosesNothing).
		batch: max(min(sub.Concurrency, b.cfg.MaxAckPending), 2), progress: progressEvery(b.cfg.AckWait, b.cfg.AckBackoff),
		work: make(chan pulled), quit: make(chan struct{}), stopping: make(chan struct{}), kick: make(chan struct{}, 1),
		stream: stream,
	}
	if err := s.consume(cons); err != nil {
		return fmt.Errorf("jsevents: consume %s of stream %s: %w", s.name, stream, err)
	}
	b.wg.Add(sub.Concurrency + 1)
	for range sub.Concurrency {
		go s.run()
	}
	go s.watch()
	b.subs = append(b.subs, s)
	return nil
}

// consume starts pulling from cons. Called before the subscription runs,
// or with s.mu held.
func (s *subscription) consume(cons jetstream.Consumer) error {
	cc, err := cons.Consume(s.receive, jetstream.PullMaxMessages(s.batch), jetstream.PullExpiry(pullExpiry),
		jetstream.ConsumeErrHandler(s.pullFailed))
	if err != nil {
		return err
	}
	s.cc, s.created = cc, cons.CachedInfo().Created
	return nil
}

// receive hands a pulled event to a free worker; it runs in the pulls'
// goroutine, so that pulling waits while every worker is busy.
//
// The server's wait for the event's outcome (ack_wait) runs from when it
// sent the event, so that an event that waits here for a worker would be
// delivered again, and count a delivery, though nothing failed. While it
// waits, receive reports it in progress every s.progress, and the worker
// that takes it does once more, so that the delivery has its whole
// ack_wait (the worker's report goes before its outcome: one that came
// after a negative acknowledgement would undo its delay);
// but not for longer than ack_wait in all: a process whose workers are
// all stuck gives the event back (a negative acknowledgement) for
// another member of the group to take. The pulls fetch no more events
// than there are workers (at least 2), so that an event waits in the
// client's buffer, before it reaches receive, for about one or two
// deliveries at most.
func (s *subscription) receive(msg jetstream.Msg) {
	select {
	case s.work <- pulled{msg: msg}:
		return
	case <-s.quit: // stopped before it was delivered: redelivered after AckWait
		return
	default:
	}
	tick := time.NewTicker(s.progress)
	defer tick.Stop()
	giveUp := time.NewTimer(s.b.cfg.AckWait)
	defer giveUp.Stop()
	for {
		select {
		case s.work <- pulled{msg: msg, waited: true}:
			return
		case <-s.quit:
			return
		case <-tick.C:
			_ = msg.InProgress()
		case <-giveUp.C:
			_ = msg.Nak()
			return
		}
	}
}

// pulled is an event that the pulls hand to a worker, and whether it
// waited for one.
type pulled struct {
	msg    jetstream.Msg
	waited bool
}

// progressEvery is half the shortest of the server's waits for an
// outcome, at least a millisecond.
func progressEvery(ackWait time.Duration, backoff []time.Duration) time.Duration {
	shortest := ackWait
	for _, d := range backoff {
		shortest = min(shortest, d)
	}
	return max(shortest/2, time.Millisecond)
}

// pullFailed notes an error of the pulls. Most are transient and the
// pulls recover from them (a reconnect, a server restart); those that
// may mean that the consumer is gone make watch check it.
func (s *subscription) pullFailed(_ jetstream.ConsumeContext, err error) {
	switch {
	case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound),
		errors.Is(err, jetstream.ErrNoHeartbeat), errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrBadRequest):
		select {
		case s.kick <- struct{}{}:
		default:
		}
	case errors.Is(err, jetstream.ErrConnectionClosed), errors.Is(err, jetstream.ErrServerShutdown):
	default:
		s.b.logger.Warn("events: pulling events", zap.String("topic", s.sub.Topic), zap.String("consumer", s.name), zap.Error(err))
		return
	}
	s.b.logger.Debug("events: pulling events", zap.String("topic", s.sub.Topic), zap.String("consumer", s.name), zap.Error(err))
}

// watch checks the consumer when the pulls report trouble, and pulls
// again from the consumer as made again when it was lost (deleted, or on
// a server that lost its state), until Close begins.
func (s *subscription) watch() {
	defer s.b.wg.Done()
	for {
		select {
		case <-s.stopping:
			return
		case <-s.kick:
		}
		t := time.NewTimer(recoverPause)
		select {
		case <-s.stopping:
			t.Stop()
			return
		case <-t.C:
		}
		if err := s.recover(); err != nil {
			s.b.logger.Warn("events: the consumer of a subscription cannot be checked; trying again",
				zap.String("subscriber", s.sub.Name), zap.String("consumer", s.name), zap.Error(err))
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
	}
}

// recover makes sure the stream and the consumer exist, and pulls from
// the consumer again if it is not the one being pulled from or the pulls
// stopped.
func (s *subscription) recover() error {
	js, err := s.b.api()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.ctx, apiTimeout)
	defer cancel()
	s.b.forget(s.sub.Topic)
	stream, err := s.b.topicStreamName(ctx, js, s.sub.Topic)
	if err != nil {
		return err
	}
	cons, err := s.b.ensureConsumer(ctx, js, stream, &s.sub)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return nil
	}
	stopped := false
	select {
	case <-s.cc.Closed():
		stopped = true
	default:
	}
	if !stopped && stream == s.stream && cons.CachedInfo().Created.Equal(s.created) {
		return nil
	}
	old := s.cc
	s.stream = stream
	if err := s.consume(cons); err != nil {
		return err
	}
	old.Stop()
	s.b.logger.Info("events: pulling again from a consumer made again", zap.String("stream", stream), zap.String("consumer", s.name))
	return nil
}

// drain stops the pulls; the events pulled are still handed to the
// workers.
func (s *subscription) drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	close(s.stopping)
	s.cc.Drain()
}

// wait waits until the events pulled are handed to the workers, or ctx
// ends, then stops the workers once their deliveries are done.
func (s *subscription) wait(ctx context.Context) error {
	var err error
	select {
	case <-s.cc.Closed():
	case <-ctx.Done():
		s.cc.Stop()
		err = fmt.Errorf("jsevents: %s: events pulled and not delivered when the stop's time ran out (delivered again after ack_wait): %w",
			s.sub.Name, ctx.Err())
	}
	close(s.quit)
	return err
}

// worker delivers events one at a time.
type worker struct {
	s   *subscription
	sub events.Subscription // s.sub, whose DeadLetter keeps the record in dl
	d   events.Delivery
	dl  *events.DeadLetter
}

// run delivers the events the pulls hand over until the subscription
// stops.
func (s *subscription) run() {
	defer s.b.wg.Done()
	w := &worker{s: s, sub: s.sub}
	w.sub.DeadLetter = w.keep
	for {
		select {
		case p := <-s.work:
			if p.waited {
				_ = p.msg.InProgress()
			}
			w.deliver(p.msg)
		case <-s.quit:
			return
		}
	}
}

func (w *worker) keep(_ context.Context, dl *events.DeadLetter) { w.dl = dl }

// errOverMax is the error of a delivery over the subscriber's maximum,
// which the backend dead-letters without running the subscriber: the
// process that had the last delivery allowed stopped before it settled
// it (a crash), or the maximum was lowered since.
type errOverMax struct{ n, max int }

func (e errOverMax) Error() string {
	return fmt.Sprintf("jsevents: delivery %d of an event allowed %d deliveries: the last allowed one ended without an outcome (its process stopped), or the maximum was lowered",
		e.n, e.max)
}

// deliver delivers msg to the subscriber and settles it by
// [events.Settle]: acknowledged; delivered again after the back-off by a
// negative acknowledgement with that delay; or dead-lettered, then
// terminated. The server's own count of deliveries (NumDelivered) is the
// attempt, so that a restart or another replica continues the count; a
// delivery over the maximum — its last allowed one ended without an
// outcome — is dead-lettered without running the subscriber.
func (w *worker) deliver(msg jetstream.Msg) {
	s := w.s
	md, err := msg.Metadata()
	if err != nil { // not a message of a consumer: cannot happen on a pull
		s.b.logger.Error("events: a pulled message has no JetStream metadata", zap.String("consumer", s.name), zap.Error(err))
		return
	}
	d := &w.d
	d.Message = message(msg)
	d.Attempt, d.Sequence, d.Stored = int(md.NumDelivered), md.Sequence.Stream, md.Timestamp
	if d.Attempt > w.sub.Retry.MaxDeliveries {
		err = errs.Unavailable().WithCause(errOverMax{n: d.Attempt, max: w.sub.Retry.MaxDeliveries})
	} else {
		err = s.h(s.ctx, d)
	}
	w.dl = nil
	again, after := events.Settle(s.ctx, &w.sub, d, err)
	switch {
	case again:
		err = msg.NakWithDelay(after)
	case w.dl == nil:
		err = msg.Ack()
	default:
		err = s.deadLetter(msg, md.Stream, w.dl, err)
	}
	if err != nil {
		// The server delivers it again after AckWait.
		s.b.logger.Warn("events: a delivery's outcome was not sent", zap.String("consumer", s.name),
			zap.Uint64("sequence", d.Sequence), zap.Error(err))
	}
	w.dl, *d = nil, events.Delivery{}
}

// message returns the event that msg carries, its metadata from its
// headers. A correlation id that is not a valid request id is dropped.
func message(msg jetstream.Msg) events.Message {
	m := events.Message{Topic: msg.Subject(), Data: msg.Data()}
	if h := msg.Headers(); h != nil {
		m.ID = h.Get(events.HeaderMessageID)
		m.ContentType = h.Get(events.HeaderContentType)
		m.Authorization = h.Get(events.HeaderAuthorization)
		if id, err := log.ParseRequestID(h.Get(events.HeaderCorrelationID)); err == nil {
			m.CorrelationID = id
		}
	}
	return m
}

// deadLetter stores the record of msg in the dead-letter stream, then
// hands it to the bus (its log and the application's hook) and
// terminates msg. The record's message id is the event's place in its
// stream and consumer, so that the record a process stores before it
// dies, and the one the next delivery stores, are stored and handed to
// the bus once. When the record cannot be stored, msg is delivered again
// after the back-off, and dead-lettered then.
func (s *subscription) deadLetter(msg jetstream.Msg, stream string, dl *events.DeadLetter, cause error) error {
	js, err := s.b.api()
	if err != nil {
		return err
	}
	rec := *dl
	if cause != nil {
		rec.Error = errs.From(cause).Message() // never internal parameters or causes
	}
	data, err := json.Marshal(&rec)
	if err != nil {
		return err
	}
	m := nats.NewMsg(s.dlSubj)
	m.Data = data
	// A record is not an event and is rare, so its headers cost nothing
	// that matters: the content type tells the operators' tools that
	// read the dead-letter stream what it is; the message id stores the
	// record once however many deliveries end in it (see above); the
	// correlation id, when the event had one, leads to the logs.
	id := "dlq:" + stream + ":" + s.name + ":" + strconv.FormatUint(dl.Sequence, 10)
	m.Header.Set(events.HeaderContentType, events.ContentTypeJSON)
	m.Header.Set(events.HeaderMessageID, id)
	if dl.CorrelationID != "" {
		m.Header.Set(events.HeaderCorrelationID, dl.CorrelationID)
	}
	ctx, cancel := context.WithTimeout(s.ctx, apiTimeout)
	defer cancel()
	ack, err := js.PublishMsg(ctx, m)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		if err = s.b.ensureDeadLetters(ctx, js); err == nil {
			ack, err = js.PublishMsg(ctx, m)
		}
	}
	if err != nil {
		s.b.logger.Error("events: a dead letter could not be stored; the event will be delivered again",
			zap.String("subscriber", dl.Subscriber), zap.String("subject", s.dlSubj), zap.Uint64("sequence", dl.Sequence), zap.Error(err))
		s.markUnsure(id)
		return msg.NakWithDelay(s.sub.Retry.Backoff(dl.Deliveries))
	}
	if unsure := s.takeUnsure(id); (!ack.Duplicate || unsure) && s.sub.DeadLetter != nil {
		s.sub.DeadLetter(s.ctx, dl)
	}
	return msg.TermWithReason(string(dl.Reason))
}

// maxUnsure bounds the dead letters whose store a subscription is unsure
// of.
const maxUnsure = 1024

// markUnsure notes that the store of the dead letter id returned an
// error.
func (s *subscription) markUnsure(id string) {
	s.unsureMu.Lock()
	defer s.unsureMu.Unlock()
	if s.unsure == nil {
		s.unsure = make(map[string]struct{})
	}
	if len(s.unsure) < maxUnsure {
		s.unsure[id] = struct{}{}
	}
}

// takeUnsure reports whether the store of the dead letter id had returned
// an error, and forgets it: its record is stored now, and the hook has
// not seen it.
func (s *subscription) takeUnsure(id string) bool {
	s.unsureMu.Lock()
	defer s.unsureMu.Unlock()
	_, ok := s.unsure[id]
	delete(s.unsure, id)
	return ok
}
