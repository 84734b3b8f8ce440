package events

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/wegomesh/wego/auth"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
)

// The metadata of an event on the wire, for backends that carry headers
// (NATS core and JetStream use these names). A backend sends a header
// only when it carries information — the server stores and parses every
// header of every message, and a message without headers is measurably
// cheaper to publish (see docs/events.md, Performance) — so an event that
// WeGO publishes has none unless its publisher had a request id, gave a
// message id or, with auth on, has a credential.
const (
	// HeaderCorrelationID carries [Message.CorrelationID], the publisher's
	// request id, when it has one.
	HeaderCorrelationID = "X-Correlation-Id"
	// HeaderContentType carries [Message.ContentType] when it is set.
	// WeGO's events are JSON and leave it out; a missing content type
	// means JSON.
	HeaderContentType = "Content-Type"
	// HeaderMessageID carries [Message.ID], when the publisher gave one:
	// JetStream's own header, by which a stream drops a message it has
	// stored already within its duplicate window.
	HeaderMessageID = "Nats-Msg-Id"
	// HeaderAuthorization carries [Message.Authorization], the
	// publisher's credential, when it has one: the header of the same
	// name as a command's.
	HeaderAuthorization = "Authorization"
	// ContentTypeJSON is the content type of every event WeGO publishes,
	// which it leaves implicit: a message without a content type is JSON.
	ContentTypeJSON = "application/json"
)

// Message is an event as a backend carries it: the encoded payload and
// its metadata.
type Message struct {
	// Topic is the name of the event's topic ("orders.OrderPlaced"),
	// which the NATS backends use as the subject.
	Topic string
	// ID identifies the event for de-duplication when the publisher gave
	// one ([MessageID]), and is empty otherwise. A backend that
	// de-duplicates (JetStream, within its duplicate window) stores a
	// second message with the same ID once.
	ID string
	// CorrelationID is the publisher's request id, zero when the
	// publisher's context had none. The subscriber's delivery runs with
	// it as its request id, so that the log lines and audit records of
	// both sides share it; a delivery of a message without one runs with
	// a new request id.
	CorrelationID log.RequestID
	// ContentType is the payload's media type when the publisher named
	// one. Empty means JSON ([ContentTypeJSON]): the bus publishes every
	// event as JSON and leaves it empty, and subscribers refuse a content
	// type that is not JSON.
	ContentType string
	// Data is the encoded payload. In [Backend.Publish] it belongs to the
	// caller and is valid only during the call: a backend that keeps it
	// copies it.
	Data []byte
	// Authorization is the publisher's credential, the value of an
	// Authorization header ("Bearer <token>"), or empty. The application
	// sets it (see [Propagator]): with auth on, a subscriber's server
	// chain authenticates it and lets the delivery proceed only when the
	// rules let its account publish on the topic. The NATS backends carry
	// it in [HeaderAuthorization]. Never log it.
	Authorization string
	// Account is the publisher's account, for a backend that delivers in
	// the process that published ([Memory]), which carries it as it
	// carries the rest: a delivery in process keeps its publisher's
	// account as a local call keeps its caller's. Backends that send the
	// event elsewhere drop it, so that a delivery from another process is
	// judged by its Authorization alone.
	Account *auth.Account
}

// Delivery is one delivery of a message to a subscription.
type Delivery struct {
	Message
	// Attempt counts the deliveries of the message to the subscription,
	// this one included: 1 the first time.
	Attempt int
	// Sequence is the message's sequence in the backend's stream
	// (JetStream), or 0 in a backend that numbers nothing.
	Sequence uint64
	// Stored is when the backend stored the message: JetStream's
	// timestamp, which the server assigns. It is zero in a backend that
	// stores nothing (in process, NATS core), whose messages are
	// delivered as they are published. A subscriber's server chain judges
	// the expiry of the publisher's credential at this time (now when it
	// is zero), so that an event that waited in a stream is not refused
	// for a token that expired while it waited.
	Stored time.Time
}

// Handler delivers one message to a subscriber. A backend calls it for
// each delivery, with a context that carries the values of the context
// given to Subscribe and ends when the backend stops for good (in
// synchronous mode, the publisher's context), and settles the delivery
// by the error it returns (see [Settle]).
// d and its Data are valid only until the handler returns. The handler
// that the [Bus] gives a backend decodes the payload and runs the
// subscriber's server chain; it recovers panics, which fail the delivery.
type Handler func(ctx context.Context, d *Delivery) error

// Subscription is what a backend needs to deliver a topic's messages to
// one subscriber group.
type Subscription struct {
	// Name is the subscriber's name ("shipping.OnOrderPlaced"), for logs
	// and dead letters.
	Name string
	// Topic is the name of the topic read.
	Topic string
	// Group names the subscriber group: each message of the topic is
	// delivered to one member of each group. Replicas of a deployable
	// subscribe with the same group and share the messages: a NATS queue
	// group, a JetStream durable consumer. By default a subscriber's group
	// is its name.
	Group string
	// Start is where a new group starts reading, on a backend that keeps
	// the topic's history (JetStream); the others deliver only messages
	// published after the subscription starts.
	Start Position
	// Retry bounds the deliveries of a message that fails.
	Retry RetryPolicy
	// Concurrency is the most deliveries to this subscription that run at
	// once in this process, at least 1.
	Concurrency int
	// DeadLetter receives each message whose deliveries are over without
	// success: terminated, out of attempts, or abandoned by a stopping
	// backend. The Bus's logs it and calls the application's hook; a
	// backend with a dead-letter subject (JetStream) publishes the record
	// there as well. It is never nil in a Subscription from a Bus.
	DeadLetter func(ctx context.Context, dl *DeadLetter)
}

// Backend carries events from publishers to subscriptions. The in-process
// backend ([Memory]) is the default; packages register others by kind
// ([RegisterKind]): NATS core in package events/natsevents, JetStream in
// package events/jsevents.
// A Backend is made without I/O; its methods are safe for concurrent use.
type Backend interface {
	// Kind names the backend ("memory", "nats", "jetstream").
	Kind() string
	// Publish hands msg to the backend and returns once the backend has
	// it as its guarantee says (queued in memory, written to the NATS
	// connection, stored by JetStream), or with an error; it may block
	// while the backend is full, until ctx ends. msg.Data is the caller's
	// (see [Message]).
	Publish(ctx context.Context, msg Message) error
	// Subscribe starts delivering the messages of sub.Topic to h, for
	// sub.Group, until Close. ctx bounds the subscribing; the contexts of
	// the deliveries carry its values (the bus's catalog among them) and
	// end when the backend stops for good. Each delivery is settled by
	// [Settle].
	Subscribe(ctx context.Context, sub Subscription, h Handler) error
	// Close stops the subscriptions, letting the deliveries under way
	// finish and, for a backend that queues in the process, delivering
	// what it queued, until ctx ends; then it gives up on the rest (dead
	// letters with [ReasonStopped]). Publish fails with [ErrClosed] after
	// it. Close releases the backend's own resources, not the NATS
	// engine's connection, which the application owns.
	Close(ctx context.Context) error
}

// SubscriptionContext returns the context of a subscription's
// deliveries: the values of ctx, the context given to Subscribe, and the
// end of base, the backend's own context, which ends when the backend
// stops for good.
func SubscriptionContext(ctx, base context.Context) context.Context {
	return valuesOf{Context: base, values: ctx}
}

// valuesOf is base with the values of another context.
type valuesOf struct {
	context.Context
	values context.Context
}

func (c valuesOf) Value(key any) any { return c.values.Value(key) }

// Starter is implemented by backends that do I/O before they can publish
// or subscribe (JetStream creates its streams): the [Bus] calls Start
// before its first subscription.
type Starter interface {
	Start(ctx context.Context) error
}

// From says where a new subscriber group starts reading a topic's
// history.
type From uint8

const (
	// FromNew delivers the messages published after the group is made.
	// The zero From.
	FromNew From = iota
	// FromBeginning delivers every message the backend still has.
	FromBeginning
	// FromSequence delivers from [Position.Sequence] on.
	FromSequence
	// FromTime delivers the messages published at [Position.Time] or
	// later.
	FromTime
)

// String returns "new", "beginning", "sequence" or "time".
func (f From) String() string {
	switch f {
	case FromNew:
		return "new"
	case FromBeginning:
		return "beginning"
	case FromSequence:
		return "sequence"
	case FromTime:
		return "time"
	}
	return "unknown"
}

// Position is where a new subscriber group starts reading a topic: replay
// on a backend that keeps history (JetStream). It matters when the group
// is made; a durable group that exists resumes where it stopped.
type Position struct {
	From     From
	Sequence uint64    // with FromSequence
	Time     time.Time // with FromTime
}

// RetryPolicy bounds the deliveries of a message that fails with a
// retryable error.
type RetryPolicy struct {
	// MaxDeliveries is the most deliveries of a message, the first
	// included; after the last one fails, the message is dead-lettered.
	// 1 means no second delivery.
	MaxDeliveries int
	// MinBackoff is the wait after the first failed delivery; each
	// further failure doubles it, up to MaxBackoff.
	MinBackoff time.Duration
	// MaxBackoff caps the wait.
	MaxBackoff time.Duration
}

// Backoff returns the wait before the next delivery of a message whose
// delivery number attempt (1 for the first) failed: MinBackoff doubled
// attempt-1 times, capped at MaxBackoff, then moved at random by up to
// 20 % either way so that failed messages do not all come back at once.
// It is never less than a millisecond.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	d := p.MinBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	if d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	if j := int64(d) / 5; j > 0 {
		d += time.Duration(rand.Int64N(2*j+1) - j)
	}
	return max(d, time.Millisecond)
}

// Outcome is how a delivery is settled.
type Outcome uint8

const (
	// Ack: the subscriber succeeded; the message is done with.
	Ack Outcome = iota + 1
	// Retry: the delivery failed and may succeed later; the message is
	// delivered again after the back-off, while deliveries remain.
	Retry
	// Terminate: the delivery failed for good; the message is
	// dead-lettered at once.
	Terminate
)

// String returns "ack", "retry" or "terminate".
func (o Outcome) String() string {
	switch o {
	case Ack:
		return "ack"
	case Retry:
		return "retry"
	case Terminate:
		return "terminate"
	}
	return "unknown"
}

// OutcomeOf is the rule every backend applies to the error of a
// delivery: nil acknowledges; an error of kind invalid_argument is
// permanent and terminates — a subscriber's own invalid_argument, a
// payload that does not decode into the topic's type ([ErrUndecodable]),
// is over the size limit ([ErrTooLarge]) or is not JSON
// ([ErrUnsupportedContentType]) — and so does an error that says it is
// permanent: one in its chain has a method Permanent() bool that returns
// true, as the auth middleware's refusals of a delivery do (a credential
// that is missing, not valid or not allowed to publish on the topic will
// not be any better the next time). Any other error, a recovered panic
// or a deadline included, is retried.
func OutcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return Ack
	case errs.KindOf(err) == errs.KindInvalidArgument:
		return Terminate
	}
	if p, ok := errors.AsType[permanent](err); ok && p.Permanent() {
		return Terminate
	}
	return Retry
}

// permanent is an error that says whether retrying what failed is futile.
type permanent interface {
	error
	Permanent() bool
}

// Settle applies the outcome of a delivery that ended with err: when the
// message should be delivered again ([Retry] with deliveries left) it
// returns true and the wait before the next delivery; otherwise the
// delivery is over — acknowledged when err is nil, else handed to
// sub.DeadLetter with [ReasonTerminated] or [ReasonMaxDeliveries] — and
// it returns false. Every backend settles through it, so that they agree
// on what is retried and for how long; each redelivers its own way
// (JetStream by a delayed negative acknowledgement, the others from the
// process).
func Settle(ctx context.Context, sub *Subscription, d *Delivery, err error) (again bool, after time.Duration) {
	switch OutcomeOf(err) {
	case Ack:
		return false, 0
	case Terminate:
		sub.deadLetter(ctx, d, ReasonTerminated, err)
		return false, 0
	}
	if d.Attempt >= sub.Retry.MaxDeliveries {
		sub.deadLetter(ctx, d, ReasonMaxDeliveries, err)
		return false, 0
	}
	return true, sub.Retry.Backoff(d.Attempt)
}

func (sub *Subscription) deadLetter(ctx context.Context, d *Delivery, reason Reason, err error) {
	if sub.DeadLetter != nil {
		sub.DeadLetter(ctx, NewDeadLetter(sub, d, reason, err))
	}
}

// Reason says why a message was dead-lettered.
type Reason string

// The reasons of dead letters.
const (
	// ReasonTerminated: a delivery failed with a permanent error (see
	// [OutcomeOf]).
	ReasonTerminated Reason = "terminated"
	// ReasonMaxDeliveries: the last delivery the retry policy allows
	// failed.
	ReasonMaxDeliveries Reason = "max_deliveries"
	// ReasonStopped: the backend stopped while the message waited to be
	// delivered (again), and it keeps nothing once stopped (in-process,
	// NATS core).
	ReasonStopped Reason = "stopped"
)

// DeadLetter is the record of a message whose deliveries to a subscriber
// are over without success: what the in-process and NATS core backends
// hand to the application's hook, and what the JetStream backend
// publishes to its dead-letter subject, as JSON.
type DeadLetter struct {
	// Topic is the message's topic.
	Topic string `json:"topic"`
	// Subscriber and Group name the subscriber it failed for.
	Subscriber string `json:"subscriber"`
	Group      string `json:"group"`
	// Reason says why the deliveries are over.
	Reason Reason `json:"reason"`
	// Error is the last delivery's error, as text, and Code its errs
	// code ("internal", "events.undecodable"); both are empty for
	// [ReasonStopped] when no delivery failed.
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
	// Deliveries is how many times the message was delivered.
	Deliveries int `json:"deliveries"`
	// Sequence is the message's sequence in its stream (JetStream), or 0.
	Sequence uint64 `json:"sequence,omitempty"`
	// MessageID and CorrelationID are the message's metadata.
	MessageID     string `json:"message_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	// ContentType and Data are the message's payload, as received
	// (Data is base64 in JSON).
	ContentType string `json:"content_type,omitempty"`
	Data        []byte `json:"data"`
	// Time is when the message was dead-lettered.
	Time time.Time `json:"time"`
}

// NewDeadLetter returns the record of d, a delivery to sub, dead-lettered
// for reason after it failed with err (nil when it never ran). It copies
// d.Data.
func NewDeadLetter(sub *Subscription, d *Delivery, reason Reason, err error) *DeadLetter {
	dl := &DeadLetter{
		Topic: d.Topic, Subscriber: sub.Name, Group: sub.Group, Reason: reason,
		Deliveries: d.Attempt, Sequence: d.Sequence, MessageID: d.ID,
		ContentType: d.ContentType, Data: append([]byte(nil), d.Data...), Time: time.Now(),
	}
	if !d.CorrelationID.IsZero() {
		dl.CorrelationID = d.CorrelationID.String()
	}
	if err != nil {
		dl.Error, dl.Code = err.Error(), errs.CodeOf(err)
	}
	return dl
}
