package audit

import (
	"context"
	"errors"
	"sync/atomic"
	"unsafe"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/log"
)

// Sink receives audit records. Write is called for every record, from the
// goroutine of the call, possibly by many calls at once; it must be safe
// for concurrent use. A record is not used again after Write returns, so a
// sink may keep it. Write reports a record it could not store: the
// middleware then fails the call or counts the failure (see fail_closed).
// Close flushes and releases what the sink holds; Write after Close fails.
type Sink interface {
	Write(ctx context.Context, r *Record) error
	Close() error
}

// LoggerName is the name of the logger a [ZapSink] writes to, and
// ZapMessage the message of its lines.
const (
	LoggerName = "audit"
	ZapMessage = "audit"
)

// ZapSink writes each record as one zap line at info level, on a logger
// named "audit", with the record's fields as fields of the line. It is the
// default sink: audit lines go where the logs go, and a log pipeline can
// route them by the logger name.
type ZapSink struct {
	fixed *zap.Logger // nil: the context's logger, named
	named atomic.Pointer[derived]
}

type derived struct{ base, l *zap.Logger }

// NewZapSink returns a sink that writes to l.Named("audit"); a nil l means
// the logger of each call's context ([log.FromContext]).
func NewZapSink(l *zap.Logger) *ZapSink {
	s := &ZapSink{}
	if l != nil {
		s.fixed = l.Named(LoggerName)
	}
	return s
}

func (s *ZapSink) logger(ctx context.Context) *zap.Logger {
	if s.fixed != nil {
		return s.fixed
	}
	base := log.FromContext(ctx)
	if d := s.named.Load(); d != nil && d.base == base {
		return d.l
	}
	d := &derived{base: base, l: base.Named(LoggerName)}
	s.named.Store(d)
	return d.l
}

// Write logs r. It never fails: zap reports its own write errors to its
// error output.
func (s *ZapSink) Write(ctx context.Context, r *Record) error {
	return s.write(ctx, r, nil)
}

// zapFields is the most fields a line of the ZapSink has.
const zapFields = 9

// zapRoom is room for one zap line of the ZapSink: its fields, and the text
// of the record's request id, which always fits (a generated id has 36
// bytes, a parsed one at most MaxRequestIDLen). The audit middleware
// allocates it with the record, and uses it for one line, never again: a
// zap core may keep the fields it is given after Write returns
// (zaptest/observer does), and with them the text.
type zapRoom struct {
	fields [zapFields]zap.Field
	id     [log.MaxRequestIDLen]byte
}

// write is Write with new room for the line (nil: write allocates what it
// needs).
func (s *ZapSink) write(ctx context.Context, r *Record, room *zapRoom) error {
	ce := s.logger(ctx).Check(zap.InfoLevel, ZapMessage)
	if ce == nil {
		// An audit record is not a log line that a level may drop: a
		// logger that drops it is a failing sink, never a silent one.
		return ErrLevelDisabled
	}
	var fields []zap.Field
	if room != nil {
		fields = room.fields[:0]
	} else {
		fields = make([]zap.Field, 0, zapFields)
	}
	fields = append(fields,
		zap.Time("time", r.Time),
		zap.String(log.CommandKey, r.Command),
		zap.String("side", r.Side),
		zap.String("phase", r.Phase),
		zap.String("outcome", r.Outcome),
		zap.Duration("duration", r.Duration),
	)
	switch {
	case r.RequestID.IsZero():
	case room != nil:
		// The text goes in the room, and the field's string points to it:
		// no allocation. The bytes are written here only, before the
		// string exists, and the room is never reused, so the string is
		// as immutable as any other.
		id := r.RequestID.AppendTo(room.id[:0])
		fields = append(fields, zap.String(log.RequestIDKey, unsafe.String(unsafe.SliceData(id), len(id))))
	default:
		// r is not reused, so the field may point into it.
		fields = append(fields, zap.Stringer(log.RequestIDKey, &r.RequestID))
	}
	if r.Principal != "" {
		fields = append(fields, zap.String("principal", r.Principal))
	}
	if len(r.Request) > 0 {
		fields = append(fields, zap.Object("request", &r.Request))
	}
	ce.Write(fields...)
	return nil
}

// ErrLevelDisabled is what [ZapSink.Write] returns when its logger does not
// write info-level lines, so the record would be lost. Give the sink a
// logger of its own at info level (package fw does) or raise the level.
var ErrLevelDisabled = errors.New("audit: the zap sink's logger drops info-level lines")

// Close does nothing: the logger belongs to the application, which syncs
// it.
func (s *ZapSink) Close() error { return nil }

var _ Sink = (*ZapSink)(nil)
