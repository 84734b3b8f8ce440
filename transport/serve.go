package transport

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/idempotency"
	"github.com/wegomesh/wego/middleware/timeout"
)

// Core is the serving core that every WeGO server shares: given a request
// that a transport has received, it runs the propagators and server hooks
// of the application, takes the request id, idempotency key and deadline
// from the request's metadata, decodes the body, serves the command
// through its server chain, encodes the response, and writes and logs the
// error answer of anything that fails. What is left to a transport is
// what only it knows: how requests arrive and how bytes, metadata and
// statuses travel back ([Exchange]).
//
// A Core is safe for concurrent use once made.
type Core struct {
	name    string
	cat     *catalog.Catalog
	scoped  bool // carry cat in request contexts (it is not catalog.Default)
	log     *zap.Logger
	i18n    *i18n.Bundle
	props   []Propagator
	hooks   []ServerHook
	budget  time.Duration
	maxWait time.Duration
}

// CoreLimits are the time limits that a server puts on the commands it
// serves, from its configuration.
type CoreLimits struct {
	// CommandBudget bounds each command's run, whatever the caller asks;
	// 0 for no bound.
	CommandBudget time.Duration
	// MaxTimeout caps the time a caller asks for in [HeaderTimeout]; 0
	// for no cap.
	MaxTimeout time.Duration
}

// NewCore returns the serving core of a transport named name ("http",
// "nats") for host's catalog, logger, localization, propagators and
// server hooks.
func NewCore(name string, host Host, limits CoreLimits) *Core {
	cat := host.Catalog
	if cat == nil {
		cat = catalog.Default
	}
	logger := host.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Core{
		name: name, cat: cat, scoped: cat != catalog.Default, log: logger, i18n: host.I18n,
		props:  slices.DeleteFunc(slices.Clone(host.Propagators), func(p Propagator) bool { return p == nil }),
		hooks:  slices.DeleteFunc(slices.Clone(host.ServerHooks), func(f ServerHook) bool { return f == nil }),
		budget: max(limits.CommandBudget, 0), maxWait: max(limits.MaxTimeout, 0),
	}
}

// Name returns the name of the core's transport.
func (c *Core) Name() string { return c.name }

// Catalog returns the catalog the core serves.
func (c *Core) Catalog() *catalog.Catalog { return c.cat }

// Logger returns the core's logger.
func (c *Core) Logger() *zap.Logger { return c.log }

// Responder answers one request in a transport's own terms.
type Responder interface {
	// Reply answers with the encoded response body; nil when the
	// command's response has no content (an empty struct).
	Reply(body []byte)
	// Fail answers with an error: e says what failed (a transport maps
	// its kind or [errs.Error.Status] to its own status) and body is its
	// encoded [ErrorBody].
	Fail(e *errs.Error, body []byte)
}

// Exchange is one request that a transport has received, as the serving
// core sees it. A transport implements it over its own request and answer
// (an HTTP request and response writer, a NATS message) and passes it to
// [Command.Serve]; the core calls each method at most once, in the order
// they are listed, from the goroutine that called Serve.
type Exchange interface {
	// Metadata returns the request's metadata.
	Metadata() Metadata
	// Admit lets the request in, or refuses it with an error (such as
	// [ErrOverloaded]) that the transport has logged if it should be.
	Admit() error
	// Decode fills req, a *Req of the command, from the request: the
	// transport reads the body within its limits and passes it to
	// [Command.DecodeBody], then binds what else it binds (an HTTP
	// path, query and headers). An error is the caller's fault and should
	// be an *errs.Error.
	Decode(req any) error
	// Gone reports whether the caller went away: a command canceled then
	// gets no answer. When it did not, the cancellation came from the
	// server (it is stopping), and the caller is answered unavailable.
	Gone() bool
	Responder
}

// Command is the serving of one command by a [Core]: its server chain and
// its request and response values, pooled.
type Command struct {
	core      *Core
	entry     catalog.Entry
	spec      *middleware.Spec
	name      string
	noContent bool
	event     bool // an event entry: never served (see Serve)
	codec     *jsonCodec
	reqs      sync.Pool // *Req
	resps     sync.Pool // *Resp
}

// Command prepares the serving of e, a command of the core's catalog.
func (c *Core) Command(e catalog.Entry) *Command {
	spec := e.Spec()
	cmd := &Command{
		core: c, entry: e, spec: spec, name: spec.Name,
		noContent: spec.Response == nil || EmptyType(spec.Response),
		event:     spec.Kind == middleware.Event,
		codec:     newJSONCodec(spec.Request, spec.Response),
	}
	cmd.reqs.New = func() any { return e.NewRequest() }
	cmd.resps.New = func() any { return e.NewResponse() }
	return cmd
}

// Spec describes the command.
func (cmd *Command) Spec() *middleware.Spec { return cmd.spec }

// NoContent reports whether the command's response has no content (its
// type is struct{}): Reply then gets a nil body.
func (cmd *Command) NoContent() bool { return cmd.noContent }

// EmptyType reports whether values of t encode to nothing worth sending,
// a struct without fields (struct{}): a command whose response is one
// answers without a body (HTTP's 204).
func EmptyType(t reflect.Type) bool {
	return t != nil && t.Kind() == reflect.Struct && t.NumField() == 0
}

// zero sets the value p points to to its zero value, so that it can be
// pooled without keeping what a request put in it.
func zero(p any) { reflect.ValueOf(p).Elem().SetZero() }

// DecodeBody decodes body, whose content type is given by the values of
// ct (the request's [HeaderContentType]), into req, strictly: an unknown
// field, a key given twice, data after the value or invalid UTF-8 is an
// invalid-argument error naming the field, and a content type other than
// JSON is [ErrUnsupportedMediaType]. An empty body decodes to nothing.
func (cmd *Command) DecodeBody(ct []string, body []byte, req any) error {
	if len(body) == 0 {
		if len(ct) > 0 && ct[0] != "" && !IsJSON(ct) {
			return UnsupportedType(ct)
		}
		return nil
	}
	if !IsJSON(ct) {
		return UnsupportedType(ct)
	}
	if e := cmd.codec.decode(body, req); e != nil {
		return e
	}
	return nil
}

// Serve serves one request, whose id the transport has taken from its
// metadata ([RequestIDOf]) and echoed in its answer, and answers it
// through x. It returns the error the caller was answered with, nil
// after a success; a canceled command whose caller is gone is not
// answered, and returns its cancellation error. A panic outside the
// server chain (which recovers its own) is answered as an internal error
// and logged with its stack; http.ErrAbortHandler passes through. An
// entry of the Event kind (a topic or a subscriber of package events),
// which a transport that serves every command may have prepared, is
// refused as an unknown command.
func (cmd *Command) Serve(ctx context.Context, id log.RequestID, x Exchange) (answered error) {
	c := cmd.core
	md := x.Metadata()
	ctx = log.ContextWithCommand(ctx, id, cmd.name)
	if len(c.props)+len(c.hooks) > 0 {
		var end func(error)
		ctx, end = c.around(ctx, cmd.spec, md)
		defer func() { end(answered) }()
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				answered = errs.Canceled()
				panic(v)
			}
			answered = errs.Internal()
			c.Panicked(ctx, id, md, x, v)
		}
	}()
	if cmd.event {
		// A topic or a subscriber (package events) is no command: its
		// events arrive through its backend, never from a caller.
		err := catalog.ErrUnknownCommand.New(errs.InternalParam("command", cmd.name))
		c.Fail(ctx, id, md, x, err, false)
		return err
	}
	if err := x.Admit(); err != nil {
		c.Fail(ctx, id, md, x, err, true)
		return err
	}
	if c.scoped {
		ctx = catalog.NewContext(ctx, c.cat)
	}
	if v := md.Values(HeaderIdempotencyKey); len(v) > 0 {
		if len(v) > 1 || !idempotency.ValidKey(v[0]) {
			err := idempotency.ErrInvalidKey.New()
			c.Fail(ctx, id, md, x, err, false)
			return err
		}
		ctx = idempotency.WithKey(ctx, v[0])
	}
	// The command's time: its budget here, and the caller's deadline.
	ctx, cancel, err := c.deadline(ctx, md)
	if err != nil {
		c.Fail(ctx, id, md, x, err, false)
		return err
	}
	if cancel != nil {
		defer cancel()
	}

	req := cmd.reqs.Get()
	defer func() { zero(req); cmd.reqs.Put(req) }()
	if err := x.Decode(req); err != nil {
		c.Fail(ctx, id, md, x, err, false)
		return err
	}
	resp := cmd.resps.Get()
	defer func() { zero(resp); cmd.resps.Put(resp) }()
	if err := cmd.entry.Serve(ctx, req, resp); err != nil {
		if errs.KindOf(err) == errs.KindCanceled {
			if x.Gone() {
				// The server chain's logging middleware logged the call.
				if ce := c.log.Check(zapcore.DebugLevel, c.name+": the caller went away; no answer"); ce != nil {
					var buf [6]zap.Field
					ce.Write(log.AppendFields(ctx, buf[:0])...)
				}
				return err
			}
			err = errs.Unavailable().WithCause(err)
		}
		// The server chain's logging middleware reports the call.
		c.Fail(ctx, id, md, x, err, true)
		return err
	}
	if cmd.noContent {
		x.Reply(nil)
		return nil
	}
	buf := outBufs.Get().(*[]byte)
	defer putOutBuf(buf)
	out, err := cmd.codec.encode((*buf)[:0], resp)
	*buf = out[:0]
	if err != nil {
		err = errs.Internal().WithCause(fmt.Errorf("encoding the response: %w", err))
		c.Fail(ctx, id, md, x, err, false)
		return err
	}
	x.Reply(out)
	return nil
}

// outBufs pools the buffers that responses are encoded into.
var outBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// MaxPooledBuffer is the largest buffer that the core and the transports
// put back into their pools; bigger ones, from rare large requests, are
// left to the garbage collector.
const MaxPooledBuffer = 64 << 10

func putOutBuf(b *[]byte) {
	if cap(*b) > MaxPooledBuffer {
		return
	}
	outBufs.Put(b)
}

// around extracts the host's propagators from a command's request and
// starts its server hooks, outermost first; the function it returns ends
// the hooks, innermost first, with the error the caller was answered with.
func (c *Core) around(ctx context.Context, spec *middleware.Spec, md Metadata) (context.Context, func(error)) {
	for _, p := range c.props {
		ctx = p.Extract(ctx, md)
	}
	req := ServerRequest{Transport: c.name, Spec: spec, Metadata: md}
	ends := make([]func(error), 0, len(c.hooks))
	for _, hook := range c.hooks {
		var end func(error)
		if ctx, end = hook(ctx, req); end != nil {
			ends = append(ends, end)
		}
	}
	return ctx, func(err error) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](err)
		}
	}
}

// deadline returns ctx ending at the caller's deadline (md's
// [HeaderTimeout], capped by MaxTimeout) or the command budget's,
// whichever comes first, carrying the budget's as the server deadline: a
// command that runs to completion is detached from the first, never from
// the second (timeout.WithServerBudget, which sets no timer for a
// command that never waits). The cancel function is nil when there is no
// deadline; the error is the caller's invalid [HeaderTimeout].
func (c *Core) deadline(ctx context.Context, md Metadata) (context.Context, context.CancelFunc, error) {
	v := md.Values(HeaderTimeout)
	if c.budget <= 0 && len(v) == 0 {
		return ctx, nil, nil
	}
	now := time.Now()
	var server, caller time.Time
	if c.budget > 0 {
		server = now.Add(c.budget)
	}
	if len(v) > 0 {
		d, ok := ParseTimeout(v)
		if !ok {
			return ctx, nil, ReasonTimeout.Invalid(HeaderTimeout)
		}
		if c.maxWait > 0 {
			d = min(d, c.maxWait)
		}
		caller = now.Add(d)
	}
	ctx, cancel := timeout.WithServerBudget(ctx, server, caller)
	return ctx, cancel, nil
}

// MaxLoggedError is the most bytes of an error's text that the core logs:
// the text may hold causes that echo a request.
const MaxLoggedError = 2048

// Fail answers err through r as an [ErrorBody], localized for the
// languages of md's [HeaderAcceptLanguage], and logs it unless logged is
// true: server faults (5xx) at error level, others at debug, with the
// status, code, request id and the error's text (internal parameters and
// cause included, cut to [MaxLoggedError] bytes). logged is true for the
// failures that another line reports — a panic, logged with its stack,
// and an error of the command's server chain, which its logging
// middleware reports — so that each failed request is logged once.
// Transports call it for the requests they answer themselves (an unknown
// path, a refused connection).
func (c *Core) Fail(ctx context.Context, id log.RequestID, md Metadata, r Responder, err error, logged bool) {
	e := errs.From(err)
	if missing := e.MissingParams(); missing != nil {
		// A call site forgot a parameter of the message: the caller reads
		// a gap where the value should be. Say which, for the developer.
		var buf [6]zap.Field
		fields := log.AppendFields(ctx, buf[:0])
		fields = append(fields, zap.String("code", e.Code()), zap.Strings("missing", missing))
		c.log.Warn(c.name+": error message lacks parameters", fields...)
	}
	if !logged {
		level := zapcore.DebugLevel
		if e.Status() >= 500 && e.Kind() != errs.KindCanceled {
			level = zapcore.ErrorLevel
		}
		if ce := c.log.Check(level, c.name+": request failed"); ce != nil {
			var buf [6]zap.Field
			fields := log.AppendFields(ctx, buf[:0])
			fields = append(fields, zap.Int("status", e.Status()), zap.String("code", e.Code()),
				zap.String("error", errs.Truncate(err.Error(), MaxLoggedError)))
			ce.Write(fields...)
		}
	}
	var langs []string
	if md != nil {
		langs = md.Values(HeaderAcceptLanguage)
	}
	r.Fail(e, EncodeError(e, id.String(), c.i18n, langs...))
}

// Panicked logs a recovered panic with its stack and answers an internal
// error through r.
func (c *Core) Panicked(ctx context.Context, id log.RequestID, md Metadata, r Responder, v any) {
	var buf [6]zap.Field
	fields := log.AppendFields(ctx, buf[:0])
	fields = append(fields, zap.String("panic", fmt.Sprint(v)), zap.ByteString("stack", debug.Stack()))
	c.log.Error(c.name+": panic serving request", fields...)
	c.Fail(ctx, id, md, r, errs.Internal().WithCause(fmt.Errorf("panic: %v", v)), true)
}
