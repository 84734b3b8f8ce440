package audit

import (
	"context"
	"errors"
	"sync/atomic"
	"unsafe"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

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
	ce := s.check(ctx)
	if ce == nil {
		return ErrLevelDisabled
	}
	s.line(ce, r, make([]zap.Field, 0, zapFields), nil, &r.Request)
	return nil
}

// zapFields is the most fields a line of the ZapSink has.
const zapFields = 9

// idRoom is room for a request id's text: a generated id has 36 bytes.
// Longer ids (a parsed one may have up to log.MaxRequestIDLen) take an
// allocation of their own.
const idRoom = 40

// zapRoom is room for one zap line of the ZapSink: its fields, and the text
// of the record's request id. The audit middleware allocates it and uses
// it for one line, never again: a zap core may keep the fields it is given
// after Write returns (zaptest/observer does), and with them the text.
type zapRoom struct {
	fields [zapFields]zap.Field
	id     [idRoom]byte
}

// shortRoom is a zapRoom for the most common line: a request id, no
// principal and no request fields, seven fields in all. It is a 512-byte
// allocation where zapRoom takes 640.
type shortRoom struct {
	fields [7]zap.Field
	id     [idRoom]byte
}

// check returns the entry of a line, or nil when the logger drops info
// lines: an audit record is not a log line that a level may drop, so a
// logger that drops it makes a failing sink, never a silent one.
func (s *ZapSink) check(ctx context.Context) *zapcore.CheckedEntry {
	return s.logger(ctx).Check(zap.InfoLevel, ZapMessage)
}

// writeNew writes r in room of its own, allocated here and never reused.
// It keeps no pointer into r, so r may live on the caller's stack; the
// record must have no request fields.
func (s *ZapSink) writeNew(ctx context.Context, r *Record) error {
	ce := s.check(ctx)
	if ce == nil {
		return ErrLevelDisabled
	}
	if r.Principal == "" {
		room := new(shortRoom)
		s.line(ce, r, room.fields[:0], room.id[:0], nil)
	} else {
		room := new(zapRoom)
		s.line(ce, r, room.fields[:0], room.id[:0], nil)
	}
	return nil
}

// line writes r's line to ce. fields and id are empty slices of memory
// that is never reused; id nil means the id's text takes an allocation
// of its own. request is r's request fields in memory that outlives the
// line (nil: none). line keeps no pointer into r.
func (s *ZapSink) line(ce *zapcore.CheckedEntry, r *Record, fields []zap.Field, id []byte, request *Fields) {
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
	case id != nil:
		// The text goes in the room, and the field's string points to it.
		// The bytes are written here only, before the string exists, and
		// the room is never reused, so the string is as immutable as any
		// other. (An id too long for the room is appended to new memory.)
		id = r.RequestID.AppendTo(id[:0])
		fields = append(fields, zap.String(log.RequestIDKey, unsafe.String(unsafe.SliceData(id), len(id))))
	default:
		fields = append(fields, zap.String(log.RequestIDKey, r.RequestID.String()))
	}
	if r.Principal != "" {
		fields = append(fields, zap.String("principal", r.Principal))
	}
	if request != nil && len(*request) > 0 {
		fields = append(fields, zap.Object("request", request))
	}
	ce.Write(fields...)
}

// ErrLevelDisabled is what [ZapSink.Write] returns when its logger does not
// write info-level lines, so the record would be lost. Give the sink a
// logger of its own at info level (package fw does) or raise the level.
var ErrLevelDisabled = errors.New("audit: the zap sink's logger drops info-level lines")

// Close does nothing: the logger belongs to the application, which syncs
// it.
func (s *ZapSink) Close() error { return nil }

var _ Sink = (*ZapSink)(nil)
