package middleware

import (
	"context"
	"reflect"
	"strings"
)

// Side says on which side of a call a handler runs.
type Side uint8

const (
	// ServerSide is the side where the command runs: transports and local calls
	// enter its chain just before the command's function.
	ServerSide Side = iota + 1
	// ClientSide is the caller's side: its chain runs before the route, local or
	// remote.
	ClientSide
)

// String returns "server" or "client".
func (s Side) String() string {
	switch s {
	case ServerSide:
		return "server"
	case ClientSide:
		return "client"
	}
	return "unknown"
}

// Spec is the static description of a command that a middleware sees when it
// wraps the command's handler, and that introspection lists. A Spec is
// immutable once the command is registered.
type Spec struct {
	// Name is the command's name, "service.Operation".
	Name string
	// Request and Response are the Go types of the command's request and
	// response values (not pointers to them). They are for documentation
	// and schema generation; the call path never uses reflection.
	Request, Response reflect.Type
	// Attributes are the typed attributes set at registration.
	Attributes Attributes
	// Doc is an optional human description of the command.
	Doc string
	// Remote is true in the client chain of a command that a route sends
	// to another process, and false in server chains and for local
	// commands. Client middleware that only make sense across a network,
	// such as a circuit breaker, return nil (add nothing) when it is false.
	// Chains are rebuilt when routes change.
	Remote bool
	// Side is the side of the chain that the Spec is given to Wrap for:
	// [ServerSide] or [ClientSide]. A middleware that behaves differently
	// on each side decides in Wrap, once. The Spec of a command listed for
	// introspection has no side (0).
	Side Side
	// Kind is how requests and responses flow: [Unary] (one each) for
	// commands, [Event] for the topics and subscribers of package events.
	// Chains of streaming kinds are composed with [BuildStream], which
	// fails closed.
	Kind Kind
}

// Kind says how a command's requests and responses flow.
type Kind uint8

const (
	// Unary: one request, one response. The zero Kind.
	Unary Kind = iota
	// ClientStream: a stream of requests, one response.
	ClientStream
	// ServerStream: one request, a stream of responses.
	ServerStream
	// BidiStream: streams both ways.
	BidiStream
	// Event: one message and no response, with no caller waiting for the
	// function: a topic of package events, whose client chain runs when an
	// event is published, or a subscriber, whose server chain runs when an
	// event is delivered. Its chains are composed like a unary command's.
	// Transports do not serve events as commands.
	Event
)

// IsStream reports whether k is one of the streaming kinds.
func (k Kind) IsStream() bool { return k == ClientStream || k == ServerStream || k == BidiStream }

// String returns "unary", "client_stream", "server_stream",
// "bidi_stream" or "event".
func (k Kind) String() string {
	switch k {
	case Unary:
		return "unary"
	case ClientStream:
		return "client_stream"
	case ServerStream:
		return "server_stream"
	case BidiStream:
		return "bidi_stream"
	case Event:
		return "event"
	}
	return "unknown"
}

// Service returns the part of the name before the last dot ("inventory" for
// "inventory.Reserve").
func (s *Spec) Service() string {
	if i := strings.LastIndexByte(s.Name, '.'); i >= 0 {
		return s.Name[:i]
	}
	return ""
}

// Operation returns the part of the name after the last dot ("Reserve").
func (s *Spec) Operation() string {
	return s.Name[strings.LastIndexByte(s.Name, '.')+1:]
}

// Call is one invocation of a command as it passes through a chain.
//
// Request points to the typed request (a *Req) and Response to the typed
// response (a *Resp) that the command's function fills in on success.
// Middleware may read both, replace *Response (a cache hit does), or set
// Response before calling next; they must not keep the Call or the values it
// points to after the handler returns, because the Call is recycled (see the
// package documentation).
type Call struct {
	// Spec describes the command, as the chain where the call began sees
	// it. It is never nil and never changes. A middleware takes its own
	// side from the Spec given to Wrap, not from here: a local call passes
	// from the client chain into the server chain with the same Call.
	Spec *Spec
	// Request points to the command's typed request.
	Request any
	// Response points to the command's typed response.
	Response any
	// Node names the remote node that will serve the call: the catalog
	// asks the route's balancer (catalog.Balancer) before the client chain
	// runs, so that client middleware know where the call goes. Empty for
	// local calls and for routes that do not balance.
	Node string
}

// Handler serves a call: the command's function at the end of the server
// chain, the route at the end of the client chain, or a middleware in
// between. It reports the command's error, if any; the response is
// written through c.Response.
type Handler func(ctx context.Context, c *Call) error

// Middleware wraps handlers. Wrap is called once per command and side when
// a chain is built, never per call; spec says which command and which side
// ([Spec.Side]). Wrap returns nil when it has nothing to do for that
// command and side: the chain then skips it, and a command whose chains
// add nothing is called directly, with no hop at all. Returning next
// itself works too, but costs the command that direct path.
type Middleware interface {
	Wrap(spec *Spec, next Handler) Handler
}

// Func adapts a function that wraps a handler, without looking at the
// command, to a [Middleware], as http.HandlerFunc adapts a function to an
// http.Handler. (The function of a command itself is a catalog.CommandFunc.)
type Func func(next Handler) Handler

// Wrap calls f(next).
func (f Func) Wrap(_ *Spec, next Handler) Handler { return f(next) }

// WrapFunc adapts a function with the same signature as [Middleware.Wrap].
type WrapFunc func(spec *Spec, next Handler) Handler

// Wrap calls f(spec, next).
func (f WrapFunc) Wrap(spec *Spec, next Handler) Handler { return f(spec, next) }

// Chain returns a Middleware that applies mws in order: the first is the
// outermost, so it sees the call first and the result last. Nil entries
// are skipped.
func Chain(mws ...Middleware) Middleware { return chain(mws) }

type chain []Middleware

func (c chain) Wrap(spec *Spec, next Handler) Handler {
	return Build(spec, next, c...)
}

// Build wraps terminal in mws for the command described by spec, the first
// middleware outermost, and returns the composed handler. Nil middleware,
// and middleware whose Wrap returns nil, are skipped.
func Build(spec *Spec, terminal Handler, mws ...Middleware) Handler {
	h, _ := Compose(spec, terminal, mws...)
	return h
}

// Compose is [Build] that also reports whether any middleware added a
// handler; when none did, h is terminal itself. The catalog composes
// chains with it, so that a command whose chains add nothing is called
// directly.
func Compose(spec *Spec, terminal Handler, mws ...Middleware) (h Handler, added bool) {
	h = terminal
	for i := len(mws) - 1; i >= 0; i-- {
		if mws[i] == nil {
			continue
		}
		if w := mws[i].Wrap(spec, h); w != nil {
			h, added = w, true
		}
	}
	return h, added
}
