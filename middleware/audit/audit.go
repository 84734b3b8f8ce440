package audit

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// Auditable marks a command as audited, at registration:
//
//	catalog.Register("accounts.Close", closeAccount, catalog.With(audit.Auditable.Value(true)))
//
// The configuration can override it per command.
var Auditable = middleware.NewKey[bool]("audit.auditable")

// Errors of fail-closed auditing.
var (
	// ErrUnavailable is returned, without running the command, when the
	// record of phase "before" cannot be written and fail_closed is set.
	// Its kind is unavailable: nothing ran, so trying again is safe.
	ErrUnavailable = errs.Define("audit.unavailable", errs.KindUnavailable,
		"The request cannot be audited now and was not run; try again later.")
	// ErrWriteFailed is returned instead of the command's result when the
	// record of phase "after" cannot be written and fail_closed is set. The
	// command has run: its kind is internal, not unavailable, so that
	// retry middleware does not run it again.
	ErrWriteFailed = errs.Define("audit.write_failed", errs.KindInternal,
		"The request could not be audited.")
)

// Sinks by name (the key sink).
const (
	SinkZap  = "zap"
	SinkFile = "file"
)

// Section is the configuration key of [Config].
const Section = "middleware.audit"

// Config configures the audit middleware. It is read from the section
// "middleware.audit" (the mapstructure tags are the keys); the zero value
// of each field means its default.
type Config struct {
	// All audits every command, not only those marked [Auditable].
	// Default false.
	All bool `mapstructure:"all"`
	// Phase is when records are written: "after" the command (default),
	// or "before" it as well (see the package documentation).
	Phase string `mapstructure:"phase"`
	// FailClosed fails a call whose record cannot be written; by default
	// the failure is counted ([Auditor.Failures]) and logged, and the call
	// goes on.
	FailClosed bool `mapstructure:"fail_closed"`
	// Sink is where records go: "zap" (default), or "file".
	Sink string `mapstructure:"sink"`
	// File configures the "file" sink.
	File FileConfig `mapstructure:"file"`
	// Commands overrides settings per command, keyed by a command name
	// ("accounts.Close"), a service ("accounts.*") or "*". Each setting
	// comes from the most specific key that sets it, then from the
	// command's attributes and Config; keys match without regard to case.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig overrides the settings of [Config] for some commands.
// Unset fields keep the value of Config.
type CommandConfig struct {
	// Audit turns auditing of the command on or off, whatever its
	// [Auditable] attribute and Config.All say.
	Audit *bool `mapstructure:"audit"`
	// Phase overrides Config.Phase.
	Phase string `mapstructure:"phase"`
	// FailClosed overrides Config.FailClosed.
	FailClosed *bool `mapstructure:"fail_closed"`
}

// DefaultConfig returns the defaults: commands marked Auditable are
// audited after they run, to the zap sink, failing open.
func DefaultConfig() Config {
	return Config{Phase: PhaseAfter, Sink: SinkZap}
}

func validPhase(p string) bool { return p == "" || p == PhaseBefore || p == PhaseAfter }

// Validate reports the first problem of c as a [*config.Error] whose key
// is relative to the section, such as "file.sync".
func (c Config) Validate() error {
	if !validPhase(c.Phase) {
		return config.Errorf("phase", "unknown phase %q (want after or before)", c.Phase)
	}
	switch c.Sink {
	case "", SinkZap:
		if err := c.File.validate(false); err != nil {
			return config.Under("file", err)
		}
	case SinkFile:
		if err := c.File.validate(true); err != nil {
			return config.Under("file", err)
		}
	default:
		return config.Errorf("sink", "unknown sink %q (want zap or file)", c.Sink)
	}
	return config.Under("commands", c.Commands.Validate(func(o CommandConfig) error {
		if !validPhase(o.Phase) {
			return config.Errorf("phase", "unknown phase %q (want after or before)", o.Phase)
		}
		return nil
	}))
}

// Option configures the middleware.
type Option interface{ apply(*options) }

type options struct {
	sink      Sink
	logger    *zap.Logger
	now       func() time.Time
	principal func(context.Context) (string, bool)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithSink sends records to s instead of the sink the configuration
// names. [Auditor.Close] closes it.
func WithSink(s Sink) Option { return optionFunc(func(o *options) { o.sink = s }) }

// WithLogger makes the zap sink write to l.Named("audit") and the
// middleware log sink failures to l. By default both use the logger of
// each call's context ([log.FromContext]).
func WithLogger(l *zap.Logger) Option { return optionFunc(func(o *options) { o.logger = l }) }

// WithPrincipal makes records take their principal from principal(ctx)
// instead of [PrincipalFrom]: an application passes the function that
// reads the account of its authentication middleware (fw does), which
// falls back to PrincipalFrom. It must not allocate.
func WithPrincipal(principal func(ctx context.Context) (string, bool)) Option {
	return optionFunc(func(o *options) { o.principal = principal })
}

// WithClock makes records take their time from now instead of time.Now,
// for tests and examples. Durations are measured with it too.
func WithClock(now func() time.Time) Option { return optionFunc(func(o *options) { o.now = now }) }

// Auditor is the audit middleware. Besides wrapping chains it counts the
// records it failed to write ([Auditor.Failures]) and owns its sink, which
// [Auditor.Close] closes when the application shuts down.
type Auditor struct {
	cfg       Config
	sink      Sink
	zap       *ZapSink         // sink, when it is a *ZapSink
	logger    *zap.Logger      // nil: the context's
	clock     func() time.Time // WithClock's; nil: the real clock
	principal func(context.Context) (string, bool)
	failures  atomic.Uint64
}

// New returns the audit middleware. It validates cfg and, for the file
// sink, opens the file (and starts its flusher with sync "interval"), so
// it belongs where the application starts, not in init.
func New(cfg Config, opts ...Option) (*Auditor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	a := &Auditor{cfg: cfg, sink: o.sink, logger: o.logger, clock: o.now, principal: o.principal}
	if a.principal == nil {
		a.principal = PrincipalFrom
	}
	if a.sink == nil {
		switch cfg.Sink {
		case SinkFile:
			fsink, err := NewFileSink(cfg.File)
			if err != nil {
				return nil, err
			}
			a.sink = fsink
		default:
			a.sink = NewZapSink(o.logger)
		}
	}
	a.zap, _ = a.sink.(*ZapSink)
	return a, nil
}

// Failures returns the number of records that could not be written since
// the middleware was made, whether the calls failed (fail_closed) or not.
func (a *Auditor) Failures() uint64 { return a.failures.Load() }

// Close closes the sink. Calls audited after Close fail to write their
// records, as with any failing sink.
func (a *Auditor) Close() error { return a.sink.Close() }

// plan is what a command's handler needs, resolved once in Wrap.
type plan struct {
	a          *Auditor
	name       string
	before     bool
	failClosed bool
	x          *extractor // nil: no request fields
}

// plan returns the plan of spec's command, and whether it is audited.
func (a *Auditor) plan(spec *middleware.Spec) (*plan, bool) {
	audited := a.cfg.All
	if v, ok := Auditable.Get(spec.Attributes); ok {
		audited = v
	}
	p := &plan{a: a, name: spec.Name, before: a.cfg.Phase == PhaseBefore, failClosed: a.cfg.FailClosed}
	for o := range a.cfg.Commands.Matching(spec.Name) {
		if o.Audit != nil {
			audited = *o.Audit
		}
		if o.Phase != "" {
			p.before = o.Phase == PhaseBefore
		}
		if o.FailClosed != nil {
			p.failClosed = *o.FailClosed
		}
	}
	return p, audited
}

// Refused writes the record of a call of spec's command that a middleware
// before the auditor refused, so that the call never reached it: an
// authentication middleware's refusal, say (fw reports those). The record
// has phase "after", the outcome err's code, the principal given ("" for
// a caller without a valid credential), no request fields and no
// duration. It does nothing, and returns nil, when the command is not
// audited; a record that cannot be written is counted and logged, and its
// error returned.
func (a *Auditor) Refused(ctx context.Context, spec *middleware.Spec, principal string, err error) error {
	p, audited := a.plan(spec)
	if !audited {
		return nil
	}
	r := &Record{Time: a.now().UTC(), Command: p.name, Side: spec.Side.String(), Principal: principal,
		Phase: PhaseAfter, Outcome: errs.CodeOf(err)}
	r.RequestID, _ = log.RequestIDFrom(ctx)
	return a.write(ctx, r, nil)
}

// Wrap returns a handler that audits the command's calls, or nil (nothing
// added) when the command is not audited.
func (a *Auditor) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	p, audited := a.plan(spec)
	if !audited {
		return nil
	}
	p.x = newExtractor(spec.Request)
	return func(ctx context.Context, c *middleware.Call) error {
		side := spec.Side
		start := a.now()
		var (
			rec    *Record
			fields Fields
			room   *zapRoom
		)
		if p.x != nil {
			rec, fields, room = p.alloc()
			if len(p.x.fields) > cap(fields) {
				fields = make(Fields, 0, len(p.x.fields))
			}
			fields = p.x.extract(fields, c.Request)
		}
		if p.before {
			r := p.record(ctx, new(Record), side, start, fields)
			r.Phase, r.Outcome = PhaseBefore, OutcomeStarted
			if err := a.write(ctx, r, nil); err != nil && p.failClosed {
				return ErrUnavailable.Wrap(err, errs.InternalParam("command", p.name))
			}
		}
		err := next(ctx, c)
		var werr error
		if rec == nil && a.zap != nil {
			// The most common record: the zap sink, no request fields. The
			// record stays on the stack and the line takes one allocation
			// of the size it needs.
			var stack Record
			r := p.after(ctx, &stack, side, start, nil, err)
			if werr = a.zap.writeNew(ctx, r); werr != nil {
				a.failed(ctx, r, werr)
			}
		} else {
			if rec == nil {
				rec = new(Record)
			}
			werr = a.write(ctx, p.after(ctx, rec, side, start, fields, err), room)
		}
		if werr != nil && p.failClosed && !p.before {
			return ErrWriteFailed.Wrap(werr, errs.InternalParam("command", p.name))
		}
		return err
	}
}

// after fills r as the record of phase "after" of a call that returned
// err.
func (p *plan) after(ctx context.Context, r *Record, side middleware.Side, start time.Time, fields Fields, err error) *Record {
	p.record(ctx, r, side, start, fields)
	r.Phase, r.Duration = PhaseAfter, p.a.since(start)
	if err == nil {
		r.Outcome = OutcomeOK
	} else {
		r.Outcome = errs.CodeOf(err)
	}
	return r
}

// now reads the auditor's clock.
func (a *Auditor) now() time.Time {
	if a.clock != nil {
		return a.clock()
	}
	return time.Now()
}

// since returns the time elapsed since start, a time a.now returned. With
// the real clock it reads only the monotonic clock (time.Since), which
// costs less than time.Now: that reads the wall clock too.
func (a *Auditor) since(start time.Time) time.Duration {
	if a.clock != nil {
		return a.clock().Sub(start)
	}
	return time.Since(start)
}

// alloc returns a new record, with room for the command's request fields
// and, for the zap sink, room for the record's line (else nil). One
// allocation holds them all; it is never reused, because a zap core may
// keep the fields of a line, which point into it, after Write returns.
func (p *plan) alloc() (*Record, Fields, *zapRoom) {
	if p.a.zap != nil {
		b := new(zapFieldsBox)
		return &b.record, b.fields[:0], &b.zap
	}
	b := new(recordBox)
	return &b.record, b.fields[:0], nil
}

// recordBox holds a record and room for its request fields.
type recordBox struct {
	record Record
	fields [4]Field
}

// zapFieldsBox is a recordBox with room for the record's zap line (see
// [ZapSink.Write]).
type zapFieldsBox struct {
	recordBox
	zap zapRoom
}

// record fills r with what the call's context and the plan say.
func (p *plan) record(ctx context.Context, r *Record, side middleware.Side, start time.Time, fields Fields) *Record {
	// Field by field: r is new, hence zero, and a Record literal would be
	// built on the stack and copied.
	r.Time, r.Command, r.Side, r.Request = start.UTC(), p.name, side.String(), fields
	r.RequestID, _ = log.RequestIDFrom(ctx)
	r.Principal, _ = p.a.principal(ctx)
	return r
}

// write hands r to the sink, and counts and logs a failure. room is room
// for the zap sink's line, in memory that is not reused; nil when there is
// none.
func (a *Auditor) write(ctx context.Context, r *Record, room *zapRoom) error {
	var err error
	switch {
	case a.zap == nil:
		err = a.sink.Write(ctx, r)
	case room == nil:
		err = a.zap.Write(ctx, r)
	default:
		if ce := a.zap.check(ctx); ce == nil {
			err = ErrLevelDisabled
		} else {
			a.zap.line(ce, r, room.fields[:0], room.id[:0], &r.Request)
		}
	}
	if err != nil {
		a.failed(ctx, r, err)
	}
	return err
}

// failed counts and logs a record that the sink could not write. It keeps
// no pointer into r.
func (a *Auditor) failed(ctx context.Context, r *Record, err error) {
	a.failures.Add(1)
	l := a.logger
	if l == nil {
		l = log.FromContext(ctx)
	}
	if ce := l.Check(zap.ErrorLevel, "audit record not written"); ce != nil {
		fields := []zap.Field{zap.String(log.CommandKey, r.Command), zap.String("phase", r.Phase),
			zap.String("outcome", r.Outcome), zap.Error(err)}
		if !r.RequestID.IsZero() {
			fields = append(fields, log.RequestIDField(r.RequestID))
		}
		ce.Write(fields...)
	}
}

var _ middleware.Middleware = (*Auditor)(nil)
