package jsevents

import (
	"bytes"
	"context"
	"encoding/json"
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

// wireHeaders are the headers of one outgoing event, with room for their
// values, so that setting them allocates no slice per value.
type wireHeaders struct {
	h                 nats.Header // nil until a header is set, or emptied for reuse
	ct, cid, id, auth [1]string
}

// set sets the headers that carry msg's metadata, cid being the text of
// its correlation id. It is the one place where the backend decides what
// an event carries besides its payload, and it sends only what carries
// information: the server parses and stores the headers of every
// message, and a message with none is published measurably faster.
//
//   - Content-Type only when msg names one: WeGO's events are JSON and
//     leave it out, and a subscriber takes a missing content type as
//     JSON; a publisher that names another keeps it, and the subscribers
//     dead-letter the event.
//   - X-Correlation-Id only when the publisher had a request id, which
//     the subscriber's delivery runs with: its logs and audit records
//     share the publisher's.
//   - Nats-Msg-Id only when the publisher gave a message id: the stream
//     stores a message with an id it has seen within its duplicate
//     window once.
//   - Authorization only when the publisher has a credential (auth on):
//     the subscriber's server chain judges the delivery by it. The
//     publisher's account (msg.Account) stays in the process.
func (w *wireHeaders) set(msg *events.Message, cid string) {
	if msg.ContentType != "" {
		w.put(events.HeaderContentType, &w.ct, msg.ContentType)
	}
	if cid != "" {
		w.put(events.HeaderCorrelationID, &w.cid, cid)
	}
	if msg.ID != "" {
		w.put(events.HeaderMessageID, &w.id, msg.ID)
	}
	if msg.Authorization != "" {
		w.put(events.HeaderAuthorization, &w.auth, msg.Authorization)
	}
}

func (w *wireHeaders) put(name string, slot *[1]string, v string) {
	if w.h == nil {
		w.h = make(nats.Header, 4)
	}
	slot[0] = v
	w.h[name] = slot[:]
}

// reset empties w for its next message, keeping its map.
func (w *wireHeaders) reset() {
	clear(w.h)
	w.ct[0], w.cid[0], w.id[0], w.auth[0] = "", "", "", ""
}

// outgoing is a message being published synchronously, with its
// headers; pooled, since nothing keeps it once the publish returns.
type outgoing struct {
	m      nats.Msg
	w      wireHeaders
	cidBuf [64]byte // the correlation id's text
}

var outgoings = sync.Pool{New: func() any { return new(outgoing) }}

// fill sets o's message to msg, with the headers of its metadata. The
// correlation id's text lives in o.cidBuf, which o keeps until it is
// filled again.
func (o *outgoing) fill(msg *events.Message) {
	o.m.Subject, o.m.Data = msg.Topic, msg.Data
	var cid string
	if !msg.CorrelationID.IsZero() {
		if b := msg.CorrelationID.AppendTo(o.cidBuf[:0]); &b[0] == &o.cidBuf[0] {
			cid = unsafe.String(&b[0], len(b))
		} else {
			cid = string(b) // longer than the buffer
		}
	}
	o.w.set(msg, cid)
	o.m.Header = o.w.h // nil or empty when there is nothing to send: no headers on the wire
}

func (o *outgoing) release() {
	o.w.reset()
	o.m = nats.Msg{}
	outgoings.Put(o)
}

// newAsyncMsg returns the message of msg, published asynchronously: the
// JetStream context keeps it until its acknowledgement, and publishes it
// again after a "no responders", so that it owns its data, copied with
// the text of its correlation id into one buffer.
func newAsyncMsg(msg *events.Message) *nats.Msg {
	a := &struct {
		m nats.Msg
		w wireHeaders
	}{}
	buf := msg.Data
	n := len(buf)
	var cid string
	if msg.CorrelationID.IsZero() {
		buf = append(make([]byte, 0, n), buf...)
	} else {
		buf = msg.CorrelationID.AppendTo(append(make([]byte, 0, n+36), buf...))
		cid = unsafe.String(&buf[n], len(buf)-n)
	}
	a.w.set(msg, cid)
	a.m.Subject, a.m.Data, a.m.Header = msg.Topic, buf[:n:n], a.w.h
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
	return b.publishSync(ctx, &msg, nil)
}

// PublishAck publishes msg synchronously, whatever events.jetstream.async
// says, and returns the stream's acknowledgement: its stream, its
// sequence and, when the stream had stored a message with the same ID
// within its duplicate window, Duplicate.
func (b *Backend) PublishAck(ctx context.Context, msg events.Message) (*jetstream.PubAck, error) {
	ack := new(jetstream.PubAck)
	if err := b.publishSync(ctx, &msg, ack); err != nil {
		return nil, err
	}
	return ack, nil
}

// publishSync publishes msg and waits for the stream's acknowledgement,
// which it stores in ack unless ack is nil.
func (b *Backend) publishSync(ctx context.Context, msg *events.Message, ack *jetstream.PubAck) error {
	js, err := b.api()
	if err != nil {
		return err
	}
	if err := b.ensureTopic(ctx, js, msg.Topic); err != nil {
		return err
	}
	nc := b.eng.Conn()
	o := outgoings.Get().(*outgoing)
	o.fill(msg)
	err = request(ctx, nc, &o.m, ack)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		// The stream went away (deleted, or a server that lost it): make
		// it again, once.
		b.forget(msg.Topic)
		if err = b.ensureTopic(ctx, js, msg.Topic); err == nil {
			err = request(ctx, nc, &o.m, ack)
		}
	}
	o.release()
	if err != nil {
		return publishError(msg.Topic, err)
	}
	return nil
}

// publishTimeout bounds a synchronous publish whose context has no
// deadline: nats.go's default for its JetStream API.
const publishTimeout = 5 * time.Second

// request publishes m to its stream and waits for the acknowledgement,
// which it stores in ack unless ack is nil. It is what nats.go's
// JetStream PublishMsg does — the same request, the same retries while no
// stream answers ([jetstream.DefaultPubRetryAttempts] after
// [jetstream.DefaultPubRetryWait]), the same errors — but it reads an
// acknowledgement of the shape the server writes without encoding/json,
// whose reflection cost a publish as much CPU time as all of WeGO's own
// work (see docs/events.md, Performance). Anything else, an error among
// them, goes through encoding/json as in nats.go.
func request(ctx context.Context, nc *nats.Conn, m *nats.Msg, ack *jetstream.PubAck) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, publishTimeout)
		defer cancel()
	}
	resp, err := nc.RequestMsgWithContext(ctx, m)
	for r := 0; errors.Is(err, nats.ErrNoResponders) && r < jetstream.DefaultPubRetryAttempts; r++ {
		// A stream without a leader for a moment (an election) does not
		// answer: wait and try again.
		t := time.NewTimer(jetstream.DefaultPubRetryWait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		resp, err = nc.RequestMsgWithContext(ctx, m)
	}
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return jetstream.ErrNoStreamResponse
	case err != nil:
		return err
	}
	if stream, domain, seq, dup, ok := parseAck(resp.Data); ok {
		if ack != nil {
			*ack = jetstream.PubAck{Stream: string(stream), Sequence: seq, Duplicate: dup, Domain: string(domain)}
		}
		return nil
	}
	var r struct {
		Error *jetstream.APIError `json:"error,omitempty"`
		*jetstream.PubAck
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return jetstream.ErrInvalidJSAck
	}
	if r.Error != nil {
		return fmt.Errorf("nats: %w", r.Error)
	}
	if r.PubAck == nil || r.Stream == "" {
		return jetstream.ErrInvalidJSAck
	}
	if ack != nil {
		*ack = *r.PubAck
	}
	return nil
}

// parseAck reads a stream's acknowledgement of a publish in the shape
// the server writes it:
//
//	{"stream":"S","seq":N}
//	{"stream":"S","domain":"D","seq":N}
//	{"stream":"S","seq":N,"duplicate": true}
//
// and reports whether data has that shape; stream and domain alias data.
func parseAck(data []byte) (stream, domain []byte, seq uint64, dup, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(`{"stream":`))
	if !ok {
		return nil, nil, 0, false, false
	}
	if stream, rest, ok = jsonName(rest); !ok || len(stream) == 0 {
		return nil, nil, 0, false, false
	}
	if r, found := bytes.CutPrefix(rest, []byte(`,"domain":`)); found {
		if domain, rest, ok = jsonName(r); !ok {
			return nil, nil, 0, false, false
		}
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"seq":`)); !ok {
		return nil, nil, 0, false, false
	}
	n := 0
	for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	if n == 0 || n > 19 { // 19 digits are below 2^64
		return nil, nil, 0, false, false
	}
	for _, c := range rest[:n] {
		seq = seq*10 + uint64(c-'0')
	}
	switch rest = rest[n:]; string(rest) {
	case `}`:
	case `,"duplicate": true}`, `,"duplicate":true}`:
		dup = true
	default:
		return nil, nil, 0, false, false
	}
	return stream, domain, seq, dup, true
}

// jsonName reads a JSON string without escapes at the start of data and
// returns its contents and what follows it.
func jsonName(data []byte) (name, rest []byte, ok bool) {
	if len(data) == 0 || data[0] != '"' {
		return nil, nil, false
	}
	i := bytes.IndexByte(data[1:], '"')
	if i < 0 || bytes.IndexByte(data[1:1+i], '\\') >= 0 {
		return nil, nil, false
	}
	return data[1 : 1+i], data[2+i:], true
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
// theirs, until ctx ends. It pipelines as a bare nats.go PublishMsgAsync
// does, since it is one: the same window (AsyncMaxPending defaults to
// nats.go's 4,000), acknowledgements read by nats.go's one reply
// subscription, no goroutine per publish; it only drops the future, whose
// failure asyncFailed logs.
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
