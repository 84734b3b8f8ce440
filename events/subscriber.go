package events

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// subscriberKey marks a subscriber's entry and holds what the bus needs to
// run it.
var subscriberKey = middleware.NewKey[subscriberMeta]("events.subscriber")

// subscriberMeta is what a Bus needs of a subscriber, whatever its type.
type subscriberMeta interface {
	options() *subscriberOptions
	payload() reflect.Type
	// handler returns the Handler that delivers to e, the subscriber's
	// entry in the bus's catalog.
	handler(b *Bus, e catalog.Entry) (Handler, error)
}

// Subscriber is a typed handle on a subscriber: a function that receives
// the events of a topic, registered under a name. Register it from an
// init function or a package-level variable of the service that reacts:
//
//	var OnOrderPlaced = events.Subscribe("shipping.OnOrderPlaced", orders.OrderPlaced, onOrderPlaced)
//
//	func onOrderPlaced(ctx context.Context, e orders.OrderPlaced) error { ... }
//
// A subscriber is an entry of the catalog (of [middleware.Event] kind): a
// delivery runs its server chain — recovery, request id, logging, audit,
// New Relic — then the function, and tests replace it like a command
// (see [Subscriber.Command]). The function must be safe for concurrent
// use, and idempotent where the backend may deliver an event twice (see
// the backends' guarantees).
type Subscriber[T any] struct {
	cmd   *catalog.Command[T, struct{}]
	name  string
	topic string
	group string
}

type subscriberOptions struct {
	entryOptions
	group       string
	retry       RetryPolicy // zero fields: the bus's defaults
	concurrency int         // 0: the bus's default
	start       Position
}

type subscriberOption func(*subscriberOptions)

func (f subscriberOption) applySubscriber(o *subscriberOptions) { f(o) }

// Group sets the subscriber's group (see [Subscription.Group]): by
// default, its name. Subscribers of one group share the topic's events
// instead of each receiving them all; replicas of a deployable share
// them anyway, since they register the same subscribers. name is made of
// dot-separated parts of ASCII letters, digits, '_' and '-'.
func Group(name string) SubscriberOption {
	return subscriberOption(func(o *subscriberOptions) { o.group = name })
}

// MaxDeliveries sets the most deliveries of an event that fails, the
// first included, before it is dead-lettered (see [RetryPolicy]).
func MaxDeliveries(n int) SubscriberOption {
	return subscriberOption(func(o *subscriberOptions) { o.retry.MaxDeliveries = n })
}

// Backoff sets the wait after a failed delivery: first, doubling up to
// most (see [RetryPolicy]).
func Backoff(first, most time.Duration) SubscriberOption {
	return subscriberOption(func(o *subscriberOptions) { o.retry.MinBackoff, o.retry.MaxBackoff = first, most })
}

// Concurrency sets how many deliveries to the subscriber run at once in
// this process.
func Concurrency(n int) SubscriberOption {
	return subscriberOption(func(o *subscriberOptions) { o.concurrency = n })
}

// StartAt sets where the subscriber's group starts reading the topic when
// it is made, on a backend that keeps the topic's history (JetStream):
// replay. The others deliver only what is published once it runs.
func StartAt(p Position) SubscriberOption {
	return subscriberOption(func(o *subscriberOptions) { o.start = p })
}

// ReplayAll is StartAt(Position{From: FromBeginning}): a new group reads
// every event the backend still has.
func ReplayAll() SubscriberOption { return StartAt(Position{From: FromBeginning}) }

// ReplayFrom is StartAt(Position{From: FromSequence, Sequence: seq}).
func ReplayFrom(seq uint64) SubscriberOption {
	return StartAt(Position{From: FromSequence, Sequence: seq})
}

// ReplaySince is StartAt(Position{From: FromTime, Time: t}).
func ReplaySince(t time.Time) SubscriberOption {
	return StartAt(Position{From: FromTime, Time: t})
}

// Subscribe registers fn under name ("service.OnEvent") in
// [catalog.Default] as a subscriber of topic, and returns its handle. It
// is meant for package-level variables and init functions: it only
// records, and a running [Bus] delivers to the subscribers of its
// catalog. It panics with a *[catalog.RegistrationError] that names the
// caller's line when name is malformed or taken, topic or fn is nil, or
// an option is invalid; [SubscribeIn] returns the error.
func Subscribe[T any](name string, topic *Topic[T], fn func(context.Context, T) error, opts ...SubscriberOption) *Subscriber[T] {
	s, err := subscribe(catalog.Default, name, topic, fn, callerSite(2), opts)
	if err != nil {
		panic(err)
	}
	return s
}

// SubscribeIn is like [Subscribe] for the catalog c, and returns the
// error instead of panicking.
func SubscribeIn[T any](c *catalog.Catalog, name string, topic *Topic[T], fn func(context.Context, T) error, opts ...SubscriberOption) (*Subscriber[T], error) {
	return subscribe(c, name, topic, fn, callerSite(2), opts)
}

func subscribe[T any](c *catalog.Catalog, name string, topic *Topic[T], fn func(context.Context, T) error, site string, opts []SubscriberOption) (*Subscriber[T], error) {
	fail := func(err error, detail string) (*Subscriber[T], error) {
		return nil, &catalog.RegistrationError{Name: name, Site: site, Err: err, Detail: detail}
	}
	if topic == nil {
		return fail(catalog.ErrNotRegistered, "the topic is nil: declare it with events.NewTopic")
	}
	if fn == nil {
		return fail(catalog.ErrNilFunc, "")
	}
	m := &subMeta[T]{codec: newJSONCodec(reflect.TypeFor[T]())}
	for _, opt := range opts {
		if opt != nil {
			opt.applySubscriber(&m.opts)
		}
	}
	o := &m.opts
	if o.group == "" {
		o.group = name
	}
	switch {
	case !validGroup(o.group):
		return fail(catalog.ErrInvalidName, fmt.Sprintf("group %q: want dot-separated parts of ASCII letters, digits, '_' and '-'", o.group))
	case o.retry.MaxDeliveries < 0 || o.concurrency < 0:
		return fail(ErrInvalidOption, "MaxDeliveries and Concurrency must be positive")
	case o.retry.MinBackoff < 0 || o.retry.MaxBackoff < o.retry.MinBackoff:
		return fail(ErrInvalidOption, "Backoff(first, most) needs 0 <= first <= most")
	case o.start.From > FromTime:
		return fail(ErrInvalidOption, "unknown StartAt position")
	}
	m.topic = topic.Name()
	copts := append([]catalog.Option{catalog.AsEvent(), catalog.RegisteredAt(site),
		catalog.With(TopicKey.Value(m.topic), GroupKey.Value(o.group), subscriberKey.Value(m))}, o.catalog...)
	cmd, err := catalog.RegisterIn(c, name, func(ctx context.Context, v T) (struct{}, error) {
		return struct{}{}, fn(ctx, v)
	}, copts...)
	if err != nil {
		return nil, err
	}
	return &Subscriber[T]{cmd: cmd, name: name, topic: m.topic, group: o.group}, nil
}

// Name returns the subscriber's name.
func (s *Subscriber[T]) Name() string { return s.name }

// Topic returns the name of the topic the subscriber reads.
func (s *Subscriber[T]) Topic() string { return s.topic }

// Group returns the subscriber's group.
func (s *Subscriber[T]) Group() string { return s.group }

// Command returns the subscriber's catalog entry, typed. Tests replace it
// like a command, to see what is delivered or to fail deliveries, and
// call it to run the subscriber through its chains without a bus:
//
//	rec := catalogtest.Fake(t, cat, shipping.OnOrderPlaced.Command(), struct{}{}, nil)
//	_, err := shipping.OnOrderPlaced.Command().Call(ctx, orders.OrderPlaced{ID: "o1"})
func (s *Subscriber[T]) Command() *catalog.Command[T, struct{}] { return s.cmd }

// subMeta is a subscriber's settings and codec.
type subMeta[T any] struct {
	topic string
	opts  subscriberOptions
	codec *jsonCodec
}

func (m *subMeta[T]) options() *subscriberOptions { return &m.opts }
func (m *subMeta[T]) payload() reflect.Type       { return reflect.TypeFor[T]() }

// String describes the subscriber in listings.
func (m *subMeta[T]) String() string { return "subscriber of " + m.topic + " in group " + m.opts.group }

func (m *subMeta[T]) handler(b *Bus, e catalog.Entry) (Handler, error) {
	cmd, ok := e.(*catalog.Command[T, struct{}])
	if !ok {
		return nil, fmt.Errorf("events: %s is not a subscriber of %v events", e.Spec().Name, reflect.TypeFor[T]())
	}
	name, scope, limit, props := cmd.Name(), b.scope, b.cfg.MaxBytes, b.props
	values := &sync.Pool{New: func() any { return new(T) }}
	return func(ctx context.Context, d *Delivery) (err error) {
		if !isJSON(d.ContentType) {
			return ErrUnsupportedContentType.New(errs.P("content_type", cut(d.ContentType, 128)),
				errs.InternalParam("topic", d.Topic), errs.InternalParam("subscriber", name))
		}
		if len(d.Data) > limit {
			return ErrTooLarge.New(errs.P("size", fmt.Sprint(len(d.Data))), errs.P("limit", fmt.Sprint(limit)),
				errs.InternalParam("topic", d.Topic), errs.InternalParam("subscriber", name))
		}
		id := d.CorrelationID
		if id.IsZero() {
			id = log.NewRequestID()
		}
		ctx = log.ContextWithCommand(ctx, id, name)
		if scope != nil && catalog.FromContext(ctx) != scope { // a backend's context carries it (see Backend)
			ctx = catalog.NewContext(ctx, scope)
		}
		for _, p := range props {
			ctx = p.Extract(ctx, d)
		}
		v := values.Get().(*T)
		defer func() {
			if p := recover(); p != nil {
				err = b.panicked(ctx, name, p)
			}
			var zero T
			*v = zero
			values.Put(v)
		}()
		if e := m.codec.decode(d.Data, v); e != nil {
			return ErrUndecodable.Wrap(e, errs.InternalParam("topic", d.Topic), errs.InternalParam("subscriber", name)).
				WithFields(e.Fields()...)
		}
		var none struct{}
		return cmd.Serve(ctx, v, &none)
	}, nil
}

// cut returns s cut to n bytes, valid UTF-8.
func cut(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// validGroup reports whether g is a valid group name: dot-separated parts
// of ASCII letters, digits, '_' and '-', at most 255 bytes.
func validGroup(g string) bool {
	if g == "" || len(g) > 255 {
		return false
	}
	for part := range strings.SplitSeq(g, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}
