package log

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// SlogOption configures the handler built by [NewSlogHandler] or [Slog].
type SlogOption interface {
	apply(*slogHandler)
}

type slogOptionFunc func(*slogHandler)

func (f slogOptionFunc) apply(h *slogHandler) { f(h) }

// AddSource records the caller of the slog call (from [slog.Record.PC]) in
// each entry, like [zap.AddCaller] does for zap calls. Off by default.
func AddSource() SlogOption {
	return slogOptionFunc(func(h *slogHandler) { h.addSource = true })
}

// LoggerName sets the logger name of the entries (zap's "logger" key).
// [Slog] sets it to the name of the zap logger. Empty by default.
func LoggerName(name string) SlogOption {
	return slogOptionFunc(func(h *slogHandler) { h.name = name })
}

// slogHandler is a slog.Handler that writes through a zapcore.Core.
//
// Groups opened by WithGroup are kept pending until an attribute is added
// under them, because slog omits groups that end up empty while a zap
// namespace, once opened, is always written.
type slogHandler struct {
	core      zapcore.Core
	name      string
	addSource bool
	pending   []string // groups opened by WithGroup but not yet in core
}

// NewSlogHandler returns a [slog.Handler] that writes records through core,
// so that code using log/slog logs to the same place, with the same format
// and level, as code using zap.
//
// Levels map down to the nearest zap level at or below them, from debug to
// error; levels above error are logged at error level (never as panic or
// fatal). Attributes become zap fields, groups become zap namespaces
// (nested JSON objects), and [slog.LogValuer]s are resolved. Empty
// attributes and empty groups are omitted, as slog requires. Enabled asks
// the core, so sampling and the configured level apply.
//
// When the context passed to Handle (by slog's ...Context methods) carries a
// request id or a command ([ContextWithRequestID], [ContextWithCommand]),
// the entry gets the fields "request_id" and "command". They are added
// before the groups of WithGroup that still wait for an attribute; but a
// group that already holds attributes from WithAttrs holds them too, since a
// zap namespace, once opened, cannot be left.
//
// The handler differs from slog's rules in one way: an entry always has a
// time, since zap encoders always write one; a record with a zero time is
// stamped with the current time.
func NewSlogHandler(core zapcore.Core, opts ...SlogOption) slog.Handler {
	h := &slogHandler{core: core}
	for _, o := range opts {
		o.apply(h)
	}
	return h
}

// Slog returns a [*slog.Logger] that writes through the core of l, with the
// name of l. Options of l that live outside its core, such as
// [zap.AddCaller] or hooks, do not carry over; use [AddSource] for the
// caller. l must not be nil.
func Slog(l *zap.Logger, opts ...SlogOption) *slog.Logger {
	return slog.New(NewSlogHandler(l.Core(), append([]SlogOption{LoggerName(l.Name())}, opts...)...))
}

// zapLevel maps a slog level to the nearest zap level at or below it, from
// debug to error.
func zapLevel(l slog.Level) zapcore.Level {
	switch {
	case l < slog.LevelInfo:
		return zapcore.DebugLevel
	case l < slog.LevelWarn:
		return zapcore.InfoLevel
	case l < slog.LevelError:
		return zapcore.WarnLevel
	default:
		return zapcore.ErrorLevel
	}
}

// Enabled reports whether the core logs entries at level.
func (h *slogHandler) Enabled(_ context.Context, level slog.Level) bool {
	return h.core.Enabled(zapLevel(level))
}

// Handle writes r through the core.
func (h *slogHandler) Handle(ctx context.Context, r slog.Record) error {
	ent := zapcore.Entry{
		LoggerName: h.name,
		Time:       r.Time,
		Level:      zapLevel(r.Level),
		Message:    r.Message,
	}
	if ent.Time.IsZero() {
		ent.Time = time.Now()
	}
	if h.addSource && r.PC != 0 {
		frame, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		ent.Caller = zapcore.NewEntryCaller(frame.PC, frame.File, frame.Line, frame.PC != 0)
		ent.Caller.Function = frame.Function
	}
	ce := h.core.Check(ent, nil)
	if ce == nil {
		return nil
	}

	// The request fields go first, before the pending groups are opened.
	fields := make([]zap.Field, 0, 2+len(h.pending)+r.NumAttrs())
	if ctx != nil {
		fields = AppendFields(ctx, fields)
	}
	n := len(fields)
	for _, g := range h.pending {
		fields = append(fields, zap.Namespace(g))
	}
	n2 := len(fields)
	r.Attrs(func(a slog.Attr) bool {
		fields = appendAttr(fields, a)
		return true
	})
	if len(fields) == n2 {
		fields = fields[:n] // no attributes: drop the empty groups
	}
	ce.Write(fields...)
	return nil
}

// WithAttrs returns a handler whose entries carry attrs, inside the groups
// opened so far.
func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	fields := make([]zap.Field, 0, len(h.pending)+len(attrs))
	for _, g := range h.pending {
		fields = append(fields, zap.Namespace(g))
	}
	n := len(fields)
	for _, a := range attrs {
		fields = appendAttr(fields, a)
	}
	if len(fields) == n {
		return h // nothing to add; groups stay pending
	}
	h2 := *h
	h2.core = h.core.With(fields)
	h2.pending = nil
	return &h2
}

// WithGroup returns a handler that puts the attributes that follow into the
// group name.
func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.pending = append(h.pending[:len(h.pending):len(h.pending)], name)
	return &h2
}

// appendAttr converts a to zap fields and appends them to fields.
func appendAttr(fields []zap.Field, a slog.Attr) []zap.Field {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return fields
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		if a.Key == "" { // inline
			for _, ga := range a.Value.Group() {
				fields = appendAttr(fields, ga)
			}
			return fields
		}
		var group []zap.Field
		for _, ga := range a.Value.Group() {
			group = appendAttr(group, ga)
		}
		if len(group) == 0 {
			return fields // empty groups are omitted
		}
		return append(fields, zap.Object(a.Key, objectFields(group)))
	case slog.KindString:
		return append(fields, zap.String(a.Key, a.Value.String()))
	case slog.KindInt64:
		return append(fields, zap.Int64(a.Key, a.Value.Int64()))
	case slog.KindUint64:
		return append(fields, zap.Uint64(a.Key, a.Value.Uint64()))
	case slog.KindFloat64:
		return append(fields, zap.Float64(a.Key, a.Value.Float64()))
	case slog.KindBool:
		return append(fields, zap.Bool(a.Key, a.Value.Bool()))
	case slog.KindDuration:
		return append(fields, zap.Duration(a.Key, a.Value.Duration()))
	case slog.KindTime:
		return append(fields, zap.Time(a.Key, a.Value.Time()))
	default:
		v := a.Value.Any()
		if err, ok := v.(error); ok {
			return append(fields, zap.NamedError(a.Key, err))
		}
		return append(fields, zap.Any(a.Key, v))
	}
}

// objectFields encodes the fields of a slog group as a zap object.
type objectFields []zap.Field

func (fs objectFields) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, f := range fs {
		f.AddTo(enc)
	}
	return nil
}

var (
	_ slog.Handler            = (*slogHandler)(nil)
	_ zapcore.ObjectMarshaler = objectFields(nil)
)
