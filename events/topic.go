package events

import (
	"context"
	"fmt"
	"reflect"
	"runtime"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// TopicKey is the attribute that names the topic of a catalog entry: a
// topic's own name, the topic a subscriber reads. Listings show it.
var TopicKey = middleware.NewKey[string]("events.topic")

// GroupKey is the attribute that names a subscriber's group.
var GroupKey = middleware.NewKey[string]("events.group")

// topicMetaKey marks a topic's entry and holds what documents need.
var topicMetaKey = middleware.NewKey[*topicMeta]("events.topic_meta")

type topicMeta struct{ name string }

func (m *topicMeta) String() string { return "topic " + m.name }

// Topic is a typed handle on a topic: events of type T published under a
// name. Declare it once, usually in the API package of the service that
// publishes it, in a package-level variable:
//
//	var OrderPlaced = events.NewTopic[OrderPlaced]("orders.OrderPlaced")
//
// A topic is an entry of the catalog (of [middleware.Event] kind): its
// client chain runs when an event is published, the same chain that runs
// when a command is called, and tests replace it like a command (see
// [Topic.Command]). A Topic is safe for concurrent use.
type Topic[T any] struct {
	cmd  *catalog.Command[T, struct{}]
	name string
}

// TopicOption configures a topic when it is declared.
type TopicOption interface{ applyTopic(*entryOptions) }

// SubscriberOption configures a subscriber when it is registered.
type SubscriberOption interface{ applySubscriber(*subscriberOptions) }

// Option configures topics and subscribers alike.
type Option interface {
	TopicOption
	SubscriberOption
}

// entryOptions are what topics and subscribers share.
type entryOptions struct {
	catalog []catalog.Option
}

type commonOption func(*entryOptions)

func (f commonOption) applyTopic(o *entryOptions)           { f(o) }
func (f commonOption) applySubscriber(o *subscriberOptions) { f(&o.entryOptions) }

// Doc sets the description of a topic or a subscriber, shown in listings
// and in the AsyncAPI document.
func Doc(text string) Option {
	return commonOption(func(o *entryOptions) { o.catalog = append(o.catalog, catalog.Doc(text)) })
}

// CatalogOptions passes options to the catalog entry of a topic or a
// subscriber: attributes ([catalog.With]), a topic's own client
// middleware ([catalog.ClientSide]), a subscriber's own server middleware
// ([catalog.ServerSide]).
func CatalogOptions(opts ...catalog.Option) Option {
	return commonOption(func(o *entryOptions) { o.catalog = append(o.catalog, opts...) })
}

// NewTopic declares the topic name, whose events are values of type T, in
// [catalog.Default], and returns its handle. It is meant for
// package-level variables, and panics with a *[catalog.RegistrationError]
// that names the caller's line when name is not a valid topic name (see
// [NewTopicIn]) or is taken by a command, or by a topic of another type.
// Declaring a name again with the same type returns an equivalent handle.
func NewTopic[T any](name string, opts ...TopicOption) *Topic[T] {
	t, err := newTopic[T](catalog.Default, name, callerSite(2), opts)
	if err != nil {
		panic(err)
	}
	return t
}

// NewTopicIn is like [NewTopic] for the catalog c, and returns the error
// instead of panicking. A topic's name is also its NATS subject: two or
// more dot-separated parts of ASCII letters, digits, '_' and '-'
// ("orders.OrderPlaced", "billing.invoices.Paid"); an empty name, a
// wildcard ('*', '>') or a space is an error wrapping
// [catalog.ErrInvalidName].
func NewTopicIn[T any](c *catalog.Catalog, name string, opts ...TopicOption) (*Topic[T], error) {
	return newTopic[T](c, name, callerSite(2), opts)
}

func newTopic[T any](c *catalog.Catalog, name, site string, opts []TopicOption) (*Topic[T], error) {
	if !validTopic(name) {
		return nil, &catalog.RegistrationError{Name: name, Site: site, Err: catalog.ErrInvalidName,
			Detail: `a topic is "service.Event", parts of ASCII letters, digits, '_' and '-'; no wildcard or space`}
	}
	var o entryOptions
	for _, opt := range opts {
		if opt != nil {
			opt.applyTopic(&o)
		}
	}
	copts := append([]catalog.Option{catalog.AsEvent(), catalog.RegisteredAt(site),
		catalog.With(TopicKey.Value(name), topicMetaKey.Value(&topicMeta{name: name}))}, o.catalog...)
	cmd, err := catalog.DeclareIn[T, struct{}](c, name, copts...)
	if err != nil {
		return nil, err
	}
	t := &Topic[T]{cmd: cmd, name: name}
	// The route ends the topic's client chain: it hands the event to the
	// bus that the context's catalog runs.
	if err := c.SetRoute(name, &publisher[T]{codec: newJSONCodec(reflect.TypeFor[T]())}); err != nil {
		return nil, &catalog.RegistrationError{Name: name, Site: site, Err: err}
	}
	return t, nil
}

// Name returns the topic's name.
func (t *Topic[T]) Name() string { return t.name }

// Command returns the topic's catalog entry, typed. Tests replace it like
// a command to record or refuse what is published, without a bus:
//
//	rec := catalogtest.Fake(t, cat, orders.OrderPlaced.Command(), struct{}{}, nil)
func (t *Topic[T]) Command() *catalog.Command[T, struct{}] { return t.cmd }

// PublishOption configures one publication.
type PublishOption struct {
	id string
}

// MessageID gives the event an id by which a backend that de-duplicates
// (JetStream, within its duplicate window) stores it once however many
// times it is published: a publisher that retries after an error it
// cannot interpret passes the same id each time. Derive it from what
// makes the event unique ("order-42-placed"). Other backends carry the id
// to the subscriber's delivery without de-duplicating.
func MessageID(id string) PublishOption { return PublishOption{id: id} }

type publishKey struct{}

// Publish publishes v: the topic's client chain runs, then the bus that
// the catalog of ctx runs (see [Bus]) encodes v as JSON and hands it to
// its backend. It returns once the backend has the event as its
// guarantee says (see the backend), or with an error: [ErrNotRunning]
// when no bus runs, [ErrUnencodable], [ErrTooLarge], [ErrClosed], or the
// backend's. The request id of ctx becomes the event's correlation id,
// and the subscribers' deliveries run with it as their request id; an
// event published with a ctx without one has no correlation id, and each
// of its deliveries runs with a new request id. Publish never panics on
// a bad value.
func (t *Topic[T]) Publish(ctx context.Context, v T, opts ...PublishOption) error {
	for _, o := range opts {
		if o.id != "" {
			ctx = context.WithValue(ctx, publishKey{}, o.id)
		}
	}
	_, err := t.cmd.Call(ctx, v)
	return err
}

// publisher is the route of a topic: the end of its client chain.
type publisher[T any] struct {
	codec *jsonCodec
}

func (p *publisher[T]) Bind(spec *middleware.Spec) (middleware.Handler, error) {
	name := spec.Name
	return func(ctx context.Context, c *middleware.Call) error {
		v, ok := c.Request.(*T)
		if !ok || v == nil {
			return catalog.ErrWrongType.Wrap(fmt.Errorf("events: topic %s publishes %v, got %T", name, reflect.TypeFor[T](), c.Request),
				errs.InternalParam("topic", name))
		}
		bus, err := BusDep.Get(ctx)
		if err != nil {
			bus = idle // a catalog where no bus ever ran
		}
		return bus.publish(ctx, name, p.codec, v)
	}, nil
}

// validTopic reports whether name is a valid topic name: a catalog name,
// whose parts of ASCII letters, digits, '_' and '-' also make a NATS
// subject without wildcards.
func validTopic(name string) bool { return middleware.ValidName(name) }

func callerSite(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown site"
	}
	return fmt.Sprintf("%s:%d", file, line)
}
