package middleware

import (
	"context"
	"fmt"
)

// Streams are prepared the way database/sql prepares optional driver
// features: a middleware that can wrap a streaming command implements
// [StreamMiddleware] as well as [Middleware], and [BuildStream] finds it
// by type assertion. Composition fails closed: a middleware in a
// streaming command's chain that cannot wrap streams is an error, unless
// it says with [UnaryOnly] that it has nothing to do for streams. So an
// authentication check or a rate limit never silently skips a stream.

// Stream is one streaming call as a stream middleware sees it: the
// messages that flow through it, typed by the command (a *Req to Receive
// into, a *Resp to Send, on the server side).
type Stream interface {
	// Spec describes the command.
	Spec() *Spec
	// Send sends one message; msg is a pointer to the message type.
	Send(msg any) error
	// Receive receives the next message into msg, a pointer to the
	// message type; it returns io.EOF at the end of the stream.
	Receive(msg any) error
}

// StreamHandler serves a streaming call.
type StreamHandler func(ctx context.Context, s Stream) error

// StreamMiddleware is implemented by middleware that can wrap streaming
// commands. WrapStream is called once per command and side, like
// [Middleware.Wrap], and may return nil to add nothing.
type StreamMiddleware interface {
	Middleware
	WrapStream(spec *Spec, next StreamHandler) StreamHandler
}

// UnaryOnly is implemented by middleware that have nothing to do for
// streaming commands by their nature (a response cache, retries of a
// whole call): [BuildStream] leaves them out of streaming chains instead
// of failing.
type UnaryOnly interface {
	Middleware
	UnaryOnly()
}

// StreamError reports a middleware in a streaming command's chain that
// can neither wrap streams nor is marked [UnaryOnly].
type StreamError struct {
	// Command is the streaming command's name.
	Command string
	// Side is the chain's side.
	Side Side
	// Middleware is the Go type of the middleware, for the message.
	Middleware string
}

// Error names the command, the side and the middleware.
func (e *StreamError) Error() string {
	return fmt.Sprintf("middleware: %s in the %s chain of streaming command %s implements neither WrapStream nor UnaryOnly",
		e.Middleware, e.Side, e.Command)
}

// BuildStream wraps terminal in mws for the streaming command described
// by spec, the first middleware outermost, like [Build]. Each middleware
// must implement [StreamMiddleware] or [UnaryOnly]; the first that does
// neither makes BuildStream fail with a *[StreamError], so that nothing
// meant to guard a command is skipped for its streams.
func BuildStream(spec *Spec, terminal StreamHandler, mws ...Middleware) (StreamHandler, error) {
	h := terminal
	for i := len(mws) - 1; i >= 0; i-- {
		switch m := mws[i].(type) {
		case nil:
		case StreamMiddleware:
			if w := m.WrapStream(spec, h); w != nil {
				h = w
			}
		case UnaryOnly:
		default:
			return nil, &StreamError{Command: spec.Name, Side: spec.Side, Middleware: fmt.Sprintf("%T", m)}
		}
	}
	return h, nil
}
