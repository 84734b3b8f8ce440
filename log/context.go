package log

import (
	"context"

	"go.uber.org/zap"
)

// Field keys used for the request id and the command name in log entries.
const (
	RequestIDKey = "request_id"
	CommandKey   = "command"
)

// Context keys. They are unexported types, so that no other package can
// collide with them; values are stored by pointer, so that lookups do not
// allocate.
type (
	requestIDKey struct{}
	commandKey   struct{}
	loggerKey    struct{}
)

// requestCtx carries a request id, a command name, or both. It implements
// Value itself instead of using context.WithValue so that storing both takes
// one allocation and reading them takes none.
type requestCtx struct {
	context.Context
	id      RequestID // zero: look in the parent
	command string    // "": look in the parent
}

func (c *requestCtx) Value(key any) any {
	switch key.(type) {
	case requestIDKey:
		if !c.id.IsZero() {
			return c
		}
	case commandKey:
		if c.command != "" {
			return c
		}
	}
	return c.Context.Value(key)
}

func (c *requestCtx) String() string {
	s := contextName(c.Context)
	if !c.id.IsZero() {
		s += ".WithRequestID(" + c.id.String() + ")"
	}
	if c.command != "" {
		s += ".WithCommand(" + c.command + ")"
	}
	return s
}

// contextName mirrors what the context package prints for a parent.
func contextName(c context.Context) string {
	if s, ok := c.(interface{ String() string }); ok {
		return s.String()
	}
	return "context"
}

// ContextWithRequestID returns a copy of ctx that carries id.
//
// It costs exactly one allocation. A zero id leaves ctx unchanged, so
// [RequestIDFrom] keeps returning the id of the parent, if any.
func ContextWithRequestID(ctx context.Context, id RequestID) context.Context {
	if id.IsZero() {
		return ctx
	}
	return &requestCtx{Context: ctx, id: id}
}

// RequestIDFrom returns the request id carried by ctx, and whether there is
// one. It does not allocate.
func RequestIDFrom(ctx context.Context) (RequestID, bool) {
	if c, ok := ctx.Value(requestIDKey{}).(*requestCtx); ok {
		return c.id, true
	}
	return RequestID{}, false
}

// ContextWithCommand returns a copy of ctx that carries both the request id
// and the name of the command being called, in one allocation. It is meant
// for the place where a per-call context is created anyway.
//
// A zero id or an empty command is not stored: [RequestIDFrom] or
// [CommandFrom] then return what the parent carries.
func ContextWithCommand(ctx context.Context, id RequestID, command string) context.Context {
	if id.IsZero() && command == "" {
		return ctx
	}
	return &requestCtx{Context: ctx, id: id, command: command}
}

// CommandFrom returns the command name carried by ctx, and whether there is
// one. It does not allocate.
func CommandFrom(ctx context.Context) (string, bool) {
	if c, ok := ctx.Value(commandKey{}).(*requestCtx); ok {
		return c.command, true
	}
	return "", false
}

// WithLogger returns a copy of ctx that carries l, for [FromContext] and
// [For]. A nil l makes [FromContext] return the default logger [L] again.
func WithLogger(ctx context.Context, l *zap.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// FromContext returns the logger carried by ctx, or the default logger [L]
// when there is none. It never returns nil and does not allocate.
func FromContext(ctx context.Context) *zap.Logger {
	if l, _ := ctx.Value(loggerKey{}).(*zap.Logger); l != nil {
		return l
	}
	return L()
}

// For returns the logger of ctx ([FromContext]) with the fields
// "request_id" and "command" added when ctx carries them.
//
// For is for application code that logs a few lines per request: it costs a
// [zap.Logger.With], which allocates and copies the encoder, whether or not
// anything is logged afterwards. Middleware and other code on the hot path
// should instead check the level first and add the fields only to the entry
// being written:
//
//	if ce := log.FromContext(ctx).Check(zap.InfoLevel, "call done"); ce != nil {
//		var buf [4]zap.Field
//		ce.Write(log.AppendFields(ctx, buf[:0])...)
//	}
func For(ctx context.Context) *zap.Logger {
	l := FromContext(ctx)
	var buf [2]zap.Field
	fields := AppendFields(ctx, buf[:0])
	if len(fields) == 0 {
		return l
	}
	return l.With(fields...)
}

// AppendFields appends to dst the fields "request_id" and "command" that
// ctx carries, if any, and returns the extended slice.
//
// AppendFields does not allocate when dst has room: a generated id is
// formatted only if the entry is written, and the field refers to the id
// stored in ctx instead of boxing a copy of it.
func AppendFields(ctx context.Context, dst []zap.Field) []zap.Field {
	if c, ok := ctx.Value(requestIDKey{}).(*requestCtx); ok {
		if c.id.s != "" {
			dst = append(dst, zap.String(RequestIDKey, c.id.s))
		} else {
			// c is immutable, so the field may keep a pointer into it.
			dst = append(dst, zap.Stringer(RequestIDKey, &c.id))
		}
	}
	if cmd, ok := CommandFrom(ctx); ok {
		dst = append(dst, zap.String(CommandKey, cmd))
	}
	return dst
}

// RequestIDField returns the field "request_id" for id.
//
// A parsed id becomes a plain string field, which costs nothing. A generated
// id becomes a [zap.Stringer] field: it is formatted only if the entry is
// actually written, but building the field boxes the id, which allocates 32
// bytes. On hot paths, build it only after [zap.Logger.Check] succeeds, or
// use [AppendFields], which avoids the box when the id is in a context.
func RequestIDField(id RequestID) zap.Field {
	if id.s != "" || id.IsZero() {
		return zap.String(RequestIDKey, id.s)
	}
	return zap.Stringer(RequestIDKey, id)
}
