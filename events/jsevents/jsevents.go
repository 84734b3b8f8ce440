package jsevents

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/log"
)

// Engine is what the backend needs of the NATS engine: its connection and
// its JetStream API. Package engine's *Engine is one; the application
// starts it before the backend publishes or subscribes, and closes it
// after.
type Engine interface {
	Conn() *nats.Conn
	// JetStream fails when the engine embeds a server without JetStream.
	JetStream() (jetstream.JetStream, error)
}

// Kind is the backend's kind, the value of events.backend that selects
// it.
const Kind = "jetstream"

// apiTimeout bounds a call to the JetStream API (stream and consumer
// management, a dead letter's publish) whose context has no deadline.
const apiTimeout = 10 * time.Second

// Backend is the JetStream backend (kind "jetstream"): at least once and
// durable. See the package documentation for its streams, consumers,
// guarantees and dead letters.
type Backend struct {
	eng    Engine
	cfg    events.JetStreamConfig
	logger *zap.Logger

	jsOnce sync.Once
	js     atomic.Pointer[jetStream] // the backend's own context; set by api()
	jsErr  error

	ensureMu sync.Mutex // serializes stream and consumer management
	streams  sync.Map   // topic -> string, the name of the stream that holds it, once checked
	dlq      atomic.Bool

	mu       sync.Mutex // serializes Subscribe and Close
	subs     []*subscription
	draining atomic.Bool
	closed   atomic.Bool
	base     context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the subscriptions' goroutines
}

var (
	_ events.Backend = (*Backend)(nil)
	_ events.Starter = (*Backend)(nil)
)

// New returns a JetStream backend on eng's connection, configured by cfg
// (the events section's jetstream key, which has passed its validation),
// logging with logger (nil: log.L()). It does no I/O.
func New(eng Engine, cfg events.JetStreamConfig, logger *zap.Logger) *Backend {
	if logger == nil {
		logger = log.L()
	}
	b := &Backend{eng: eng, cfg: cfg, logger: logger}
	b.base, b.cancel = context.WithCancel(context.Background())
	return b
}

// Kind returns "jetstream".
func (b *Backend) Kind() string { return Kind }

// Config returns the backend's configuration.
func (b *Backend) Config() events.JetStreamConfig { return b.cfg }

// jetStream holds a JetStream context, for an atomic pointer.
type jetStream struct{ jetstream.JetStream }

// api returns the backend's JetStream context, made on the engine's
// connection the first time: its own, so that its asynchronous publishes
// are awaited and reported apart from the application's others.
func (b *Backend) api() (jetstream.JetStream, error) {
	if b.closed.Load() {
		return nil, events.ErrClosed.New()
	}
	nc := b.eng.Conn()
	if nc == nil {
		return nil, errs.Unavailable().WithCause(errors.New("jsevents: the NATS engine has not started"))
	}
	b.jsOnce.Do(func() {
		if _, err := b.eng.JetStream(); err != nil {
			b.jsErr = fmt.Errorf("jsevents: %w", err)
			return
		}
		js, err := jetstream.New(nc,
			jetstream.WithPublishAsyncMaxPending(b.cfg.AsyncMaxPending),
			jetstream.WithPublishAsyncErrHandler(b.asyncFailed))
		if err != nil {
			b.jsErr = fmt.Errorf("jsevents: %w", err)
			return
		}
		b.js.Store(&jetStream{js})
	})
	if b.jsErr != nil {
		return nil, errs.Unavailable().WithCause(b.jsErr)
	}
	return b.js.Load().JetStream, nil
}

// Start checks that JetStream answers. The [events.Bus] calls it before
// its first subscription, so that an application without the engine or
// JetStream fails to start, with an error that says which. The first
// subscription makes the dead-letter stream.
func (b *Backend) Start(ctx context.Context) error {
	js, err := b.api()
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jsevents: JetStream does not answer on the NATS connection (is it enabled on the server?): %w", err)
	}
	return nil
}

// withTimeout returns ctx with [apiTimeout] when it has no deadline.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, apiTimeout)
}

// outgoing is a message being published synchronously, with its
// headers; pooled, since nothing keeps it once the publish returns.
type outgoing struct {
	m                 nats.Msg
	h                 nats.Header
	ct, cid, id, auth [1]string
	cidBuf            [64]byte // the correlation id's text
}

var outgoings = sync.Pool{New: func() any {
	o := &outgoing{h: make(nats.Header, 3)}
	o.m.Header = o.h
	return o
}}

// fill sets o's message to msg, with the headers of its metadata. The
// correlation id's text lives in o.cidBuf, which o keeps until it is
// filled again.
func (o *outgoing) fill(msg *events.Message) {
	o.m.Subject, o.m.Data = msg.Topic, msg.Data
	o.ct[0] = msg.ContentType
	o.h[events.HeaderContentType] = o.ct[:]
	if !msg.CorrelationID.IsZero() {
		if b := msg.CorrelationID.AppendTo(o.cidBuf[:0]); &b[0] == &o.cidBuf[0] {
			o.cid[0] = unsafe.String(&b[0], len(b))
		} else {
			o.cid[0] = string(b) // longer than the buffer
		}
		o.h[events.HeaderCorrelationID] = o.cid[:]
	}
	if msg.ID != "" {
		o.id[0] = msg.ID
		o.h[events.HeaderMessageID] = o.id[:]
	}
	if msg.Authorization != "" {
		o.auth[0] = msg.Authorization
		o.h[events.HeaderAuthorization] = o.auth[:]
	}
}

func (o *outgoing) release() {
	clear(o.h)
	o.m.Subject, o.m.Data, o.m.Reply = "", nil, ""
	o.ct[0], o.cid[0], o.id[0], o.auth[0] = "", "", "", ""
	outgoings.Put(o)
}

// asyncMsg is a message published asynchronously: the JetStream context
// keeps it until its acknowledgement, and publishes it again after a "no
// responders", so that it owns its data.
type asyncMsg struct {
	m                 nats.Msg
	ct, cid, id, auth [1]string
}

// newAsyncMsg returns the message of msg, with its data and the text of
// its correlation id copied into one buffer.
func newAsyncMsg(msg *events.Message) *nats.Msg {
	a := &asyncMsg{}
	buf := append(make([]byte, 0, len(msg.Data)+36), msg.Data...)
	n := len(buf)
	h := make(nats.Header, 3)
	a.ct[0] = msg.ContentType
	h[events.HeaderContentType] = a.ct[:]
	if !msg.CorrelationID.IsZero() {
		buf = msg.CorrelationID.AppendTo(buf)
		a.cid[0] = unsafe.String(&buf[n], len(buf)-n)
		h[events.HeaderCorrelationID] = a.cid[:]
	}
	if msg.ID != "" {
		a.id[0] = msg.ID
		h[events.HeaderMessageID] = a.id[:]
	}
	if msg.Authorization != "" {
		a.auth[0] = msg.Authorization
		h[events.HeaderAuthorization] = a.auth[:]
	}
	a.m = nats.Msg{Subject: msg.Topic, Data: buf[:n:n], Header: h}
	return &a.m
}

// Publish stores msg in the stream of its topic, made first if needed,
// with its metadata in headers (the publisher's credential among them;
// its account stays in the process). By default it waits for the stream's
// acknowledgement, which an embedded server that syncs always
// (nats.server.sync_interval) sends once the event is on disk; with
// events.jetstream.async it returns once the event is written to the
// connection (see [Backend.Flush]). A message with an ID that the stream
// stored within its duplicate window is acknowledged without being
// stored again.
func (b *Backend) Publish(ctx context.Context, msg events.Message) error {
	if b.cfg.Async {
		return b.publishAsync(ctx, &msg)
	}
	_, err := b.PublishAck(ctx, msg)
	return err
}

// PublishAck publishes msg synchronously, whatever events.jetstream.async
// says, and returns the stream's acknowledgement: its stream, its
// sequence and, when the stream had stored a message with the same ID
// within its duplicate window, Duplicate.
func (b *Backend) PublishAck(ctx context.Context, msg events.Message) (*jetstream.PubAck, error) {
	js, err := b.api()
	if err != nil {
		return nil, err
	}
	if err := b.ensureTopic(ctx, js, msg.Topic); err != nil {
		return nil, err
	}
	o := outgoings.Get().(*outgoing)
	o.fill(&msg)
	ack, err := js.PublishMsg(ctx, &o.m)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		// The stream went away (deleted, or a server that lost it): make
		// it again, once.
		b.forget(msg.Topic)
		if err = b.ensureTopic(ctx, js, msg.Topic); err == nil {
			ack, err = js.PublishMsg(ctx, &o.m)
		}
	}
	o.release()
	if err != nil {
		return nil, publishError(msg.Topic, err)
	}
	return ack, nil
}

// publishError returns the error of a publish to topic that failed with
// err.
func publishError(topic string, err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.From(err).WithParams(errs.InternalParam("topic", topic))
	}
	return errs.Unavailable(errs.InternalParam("topic", topic)).WithCause(fmt.Errorf("jsevents: publish on %s: %w", topic, err))
}

// publishAsync hands msg to the JetStream context without waiting for its
// acknowledgement. It waits while AsyncMaxPending publishes are awaiting
// theirs, until ctx ends.
func (b *Backend) publishAsync(ctx context.Context, msg *events.Message) error {
	js, err := b.api()
	if err != nil {
		return err
	}
	if err := b.ensureTopic(ctx, js, msg.Topic); err != nil {
		return err
	}
	m := newAsyncMsg(msg)
	for {
		_, err = js.PublishMsgAsync(m)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			break
		}
		if ctx.Err() != nil {
			return publishError(msg.Topic, ctx.Err())
		}
	}
	if err != nil {
		return publishError(msg.Topic, err)
	}
	return nil
}

// asyncFailed logs an asynchronous publish that the stream did not
// acknowledge. When no stream took it, the next publish of its topic
// checks the stream again.
func (b *Backend) asyncFailed(_ jetstream.JetStream, m *nats.Msg, err error) {
	if b.closed.Load() && errors.Is(err, jetstream.ErrJetStreamPublisherClosed) {
		return // reported by Close
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		b.forget(m.Subject)
	}
	b.logger.Error("events: an asynchronous publish was not stored",
		zap.String("topic", m.Subject), zap.String("message_id", m.Header.Get(events.HeaderMessageID)),
		zap.String(log.RequestIDKey, m.Header.Get(events.HeaderCorrelationID)), zap.Error(err))
}

// Flush waits until every asynchronous publish has its acknowledgement
// (or its failure, which is logged), or until ctx ends.
func (b *Backend) Flush(ctx context.Context) error {
	js := b.js.Load()
	if js == nil {
		return nil // nothing was published
	}
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jsevents: %d asynchronous publishes not acknowledged: %w", js.PublishAsyncPending(), ctx.Err())
	}
}

// Close stops the subscriptions: they pull no more, the events already
// pulled are delivered and settled, and the deliveries under way finish,
// until ctx ends. Events pulled but not settled by then are delivered
// again, after AckWait, to another member of their group or to this one
// when it comes back: nothing is dead-lettered for stopping. Close then
// waits for the acknowledgements of asynchronous publishes, within ctx.
// The connection stays open: it is the engine's. Later calls return nil.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.draining.Swap(true) {
		return nil
	}
	var errList []error
	for _, s := range b.subs {
		s.drain()
	}
	for _, s := range b.subs {
		if err := s.wait(ctx); err != nil {
			errList = append(errList, err)
		}
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errList = append(errList, fmt.Errorf("jsevents: deliveries still under way when the stop's time ran out: %w", ctx.Err()))
	}
	if b.cfg.Async {
		if err := b.Flush(ctx); err != nil {
			errList = append(errList, err)
		}
	}
	b.closed.Store(true)
	b.cancel()
	if js := b.js.Load(); js != nil {
		js.CleanupPublisher()
	}
	return errors.Join(errList...)
}

func init() {
	events.RegisterKind(Kind, func(cfg events.Config, engine any, logger *zap.Logger) (events.Backend, error) {
		e, ok := engine.(Engine)
		if !ok || engine == nil {
			return nil, errors.New("the jetstream backend needs the NATS engine: configure the nats section (and import github.com/wegomesh/wego/transport/nats, which links it)")
		}
		return New(e, cfg.JetStream, logger), nil
	})
}
