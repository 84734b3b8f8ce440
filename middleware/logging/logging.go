package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// Message is the message of the line logged for each call.
const Message = "call"

// Keys of the fields of a call's line, besides [log.CommandKey] and
// [log.RequestIDKey].
const (
	SideKey     = "side"
	DurationKey = "duration"
	CodeKey     = "code"
	StatusKey   = "status"
	NodeKey     = "node"
	RequestKey  = "request"
	ResponseKey = "response"
)

// CodeOK is the code logged for a call that succeeded.
const CodeOK = "ok"

// DefaultMaxBodyBytes is the default limit of a logged body.
const DefaultMaxBodyBytes = 4096

// DefaultMaxErrorBytes is the default limit of a logged error's text.
const DefaultMaxErrorBytes = 1024

// DefaultClientErrors is the default sampling of the lines of client
// errors: per error code and second, the first 10, then 1 in 100.
var DefaultClientErrors = log.SamplingConfig{Initial: 10, Thereafter: 100, Tick: time.Second}

// Config configures the logging middleware. It is read from the section
// "middleware.logging" (the mapstructure tags are the keys); the zero value
// of each field means its default.
type Config struct {
	// SuccessLevel is the level of the line of a call that succeeded:
	// "debug" or "info". Default "debug". Failures are logged at warn
	// (client errors) or error (server faults) whatever it says.
	SuccessLevel string `mapstructure:"success_level"`
	// Bodies adds the request, and the response of a call that succeeded,
	// to its line, as JSON with secret fields redacted. Default false.
	Bodies bool `mapstructure:"bodies"`
	// MaxBodyBytes cuts a logged body longer than this, which is then
	// logged as a string ending in "…". Zero means [DefaultMaxBodyBytes].
	MaxBodyBytes int `mapstructure:"max_body_bytes"`
	// MaxErrorBytes cuts the text of a failed call's error (the field
	// "error") longer than this, on a character boundary, ending it with
	// "…": the text may hold causes that echo a request. Zero means
	// [DefaultMaxErrorBytes].
	MaxErrorBytes int `mapstructure:"max_error_bytes"`
	// ClientErrors samples the lines of failed calls that are the
	// caller's doing (those logged at warn: invalid argument, not found,
	// canceled, ...) per error code, across commands: in each tick, the
	// first Initial lines of a code are logged, then one in every
	// Thereafter (none when it is 0), so that a client sending bad
	// requests in a loop cannot flood the log. Server faults are never
	// sampled here. Nil means [DefaultClientErrors]; Thereafter 1 logs
	// every line.
	ClientErrors *log.SamplingConfig `mapstructure:"client_errors"`
	// Redact lists field names (JSON names, Go names or map keys) whose
	// values are replaced by "[REDACTED]" in logged bodies, in addition to
	// [BuiltinRedact] and to fields tagged wego:"secret". Names match
	// without regard to case, '_' or '-': "card_number" also hides
	// cardNumber. Default none.
	Redact []string `mapstructure:"redact"`
	// Sampling, when set, limits the lines logged per command, level and
	// tick (see [log.SamplingConfig]); the logger's own sampling applies
	// too. Default nil: every line is logged.
	Sampling *log.SamplingConfig `mapstructure:"sampling"`
	// Commands overrides settings per command, keyed by a command name
	// ("inventory.Reserve"), a service ("inventory.*") or "*". Each setting
	// comes from the most specific key that sets it, then from Config;
	// keys match without regard to case, because configuration files may
	// lower-case them.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig overrides the settings of [Config] for some commands.
// Unset fields keep the value of Config.
type CommandConfig struct {
	// SuccessLevel overrides Config.SuccessLevel.
	SuccessLevel string `mapstructure:"success_level"`
	// Bodies overrides Config.Bodies.
	Bodies *bool `mapstructure:"bodies"`
	// Skip logs nothing for the command (health checks, chatty polls): the
	// middleware leaves the command's chain as it is. The most specific
	// matching key decides, so "health.*" can skip a service and
	// "health.Deep" bring one command back with skip: false.
	Skip bool `mapstructure:"skip"`
}

// DefaultConfig returns the defaults: successes at debug level, no
// bodies, bodies cut at 4 KiB when enabled, error texts cut at 1 KiB,
// client errors sampled per code ([DefaultClientErrors]), no other
// sampling of its own.
func DefaultConfig() Config {
	ce := DefaultClientErrors
	return Config{SuccessLevel: "debug", MaxBodyBytes: DefaultMaxBodyBytes, MaxErrorBytes: DefaultMaxErrorBytes, ClientErrors: &ce}
}

// Section is the configuration key of [Config].
const Section = "middleware.logging"

func parseSuccessLevel(s string) (zapcore.Level, bool) {
	switch strings.ToLower(s) {
	case "", "debug":
		return zapcore.DebugLevel, true
	case "info":
		return zapcore.InfoLevel, true
	}
	return 0, false
}

// Validate reports the first problem of c as a [*config.Error] whose key
// is relative to the section, such as "success_level".
func (c Config) Validate() error {
	if _, ok := parseSuccessLevel(c.SuccessLevel); !ok {
		return config.Errorf("success_level", "unknown level %q (want debug or info)", c.SuccessLevel)
	}
	if c.MaxBodyBytes < 0 {
		return config.Errorf("max_body_bytes", "must not be negative, got %d", c.MaxBodyBytes)
	}
	if c.MaxErrorBytes < 0 {
		return config.Errorf("max_error_bytes", "must not be negative, got %d", c.MaxErrorBytes)
	}
	if err := validateSampling(c.ClientErrors); err != nil {
		return config.Under("client_errors", err)
	}
	for i, n := range c.Redact {
		if strings.TrimSpace(n) == "" {
			return config.Errorf(fmt.Sprintf("redact[%d]", i), "empty name")
		}
	}
	if err := validateSampling(c.Sampling); err != nil {
		return config.Under("sampling", err)
	}
	return config.Under("commands", c.Commands.Validate(func(o CommandConfig) error {
		if _, ok := parseSuccessLevel(o.SuccessLevel); !ok {
			return config.Errorf("success_level", "unknown level %q (want debug or info)", o.SuccessLevel)
		}
		return nil
	}))
}

func validateSampling(s *log.SamplingConfig) error {
	if s == nil {
		return nil
	}
	switch {
	case s.Initial < 1:
		return config.Errorf("initial", "must be at least 1, got %d", s.Initial)
	case s.Thereafter < 0:
		return config.Errorf("thereafter", "must not be negative, got %d", s.Thereafter)
	case s.Tick < 0:
		return config.Errorf("tick", "must not be negative, got %s", s.Tick)
	}
	return nil
}

// Option configures the middleware.
type Option interface{ apply(*options) }

type options struct {
	logger *zap.Logger
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithLogger makes the middleware log to l. By default it logs to the
// logger of each call's context ([log.FromContext]), which is the process
// default when the context carries none.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(o *options) { o.logger = l })
}

// New returns the logging middleware, or the error of [Config.Validate]
// with its key under [Section].
func New(cfg Config, opts ...Option) (middleware.Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	m := &mw{cfg: cfg, logger: o.logger, redactor: newRedactor(cfg.Redact)}
	m.maxBody = cfg.MaxBodyBytes
	if m.maxBody == 0 {
		m.maxBody = DefaultMaxBodyBytes
	}
	m.maxError = cfg.MaxErrorBytes
	if m.maxError == 0 {
		m.maxError = DefaultMaxErrorBytes
	}
	ce := DefaultClientErrors
	if cfg.ClientErrors != nil {
		ce = *cfg.ClientErrors
	}
	m.clientErrors = newCodeSampler(ce)
	if s := cfg.Sampling; s != nil {
		m.sampling = *s
		if m.sampling.Tick == 0 {
			m.sampling.Tick = log.DefaultSamplingTick
		}
	}
	return m, nil
}

type mw struct {
	cfg          Config
	logger       *zap.Logger // nil: the context's
	sampling     log.SamplingConfig
	maxBody      int
	maxError     int
	clientErrors *codeSampler
	redactor     *redactor
}

// plan is what a command's handler needs, resolved once in Wrap.
type plan struct {
	m        *mw
	name     string
	success  zapcore.Level
	bodies   bool
	reqType  reflect.Type
	reqEnc   encFunc // nil: no bodies
	respType reflect.Type
	respEnc  encFunc
	// sampled caches the sampled logger derived from the last base logger
	// seen, when sampling is configured.
	sampled atomic.Pointer[derived]
}

type derived struct{ base, l *zap.Logger }

// Wrap returns a handler that logs one line per call of the command, or
// nil (nothing added) when the configuration skips the command.
func (m *mw) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	p := &plan{m: m, name: spec.Name, bodies: m.cfg.Bodies}
	p.success, _ = parseSuccessLevel(m.cfg.SuccessLevel)
	skip := false
	for o := range m.cfg.Commands.Matching(spec.Name) {
		skip = o.Skip
		if o.SuccessLevel != "" {
			p.success, _ = parseSuccessLevel(o.SuccessLevel)
		}
		if o.Bodies != nil {
			p.bodies = *o.Bodies
		}
	}
	if skip {
		return nil
	}
	if p.bodies {
		if spec.Request != nil {
			p.reqType, p.reqEnc = spec.Request, m.redactor.encoder(spec.Request)
		}
		if spec.Response != nil {
			p.respType, p.respEnc = spec.Response, m.redactor.encoder(spec.Response)
		}
	}
	if m.logger != nil && m.cfg.Sampling != nil {
		p.sampled.Store(&derived{base: m.logger, l: p.sample(m.logger)})
	}
	return func(ctx context.Context, c *middleware.Call) error {
		side := spec.Side
		start := time.Since(epoch)
		err := next(ctx, c)
		lvl := p.success
		if err != nil {
			lvl = levelOf(err)
		}
		if lvl == zapcore.WarnLevel && !m.clientErrors.allow(errs.CodeOf(err), int64(time.Since(epoch))) {
			return err // sampled out: a client error of a busy code
		}
		if ce := p.logger(ctx).Check(lvl, Message); ce != nil {
			p.write(ctx, ce, c, side, time.Since(epoch)-start, err)
		}
		return err
	}
}

// epoch anchors the clock readings of durations: time.Since(epoch) reads
// only the monotonic clock, where time.Now reads the wall clock too, at a
// cost a call's duration does not need.
var epoch = time.Now()

// levelOf returns the level of a failed call: error for server faults and
// errors of unknown kind, warn for the caller's mistakes.
func levelOf(err error) zapcore.Level {
	if k := errs.KindOf(err); k.ServerFault() || !k.Valid() {
		return zapcore.ErrorLevel
	}
	return zapcore.WarnLevel
}

// statusOf returns the HTTP status of a failed call's error, as a
// transport would answer it, without converting the error.
func statusOf(err error) int {
	if e, ok := errs.As(err); ok {
		return e.Status()
	}
	return errs.KindOf(err).Status()
}

func (p *plan) logger(ctx context.Context) *zap.Logger {
	base := p.m.logger
	if base == nil {
		base = log.FromContext(ctx)
	}
	if p.m.cfg.Sampling == nil {
		return base
	}
	if d := p.sampled.Load(); d != nil && d.base == base {
		return d.l
	}
	d := &derived{base: base, l: p.sample(base)}
	p.sampled.Store(d)
	return d.l
}

// sample returns l with a sampler of the command's own in front of its
// core, so that a busy command does not crowd out the others' lines.
func (p *plan) sample(l *zap.Logger) *zap.Logger {
	s := p.m.sampling
	return l.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, s.Tick, s.Initial, s.Thereafter)
	}))
}

func (p *plan) write(ctx context.Context, ce *zapcore.CheckedEntry, c *middleware.Call, side middleware.Side, d time.Duration, err error) {
	var buf [10]zap.Field
	fields := append(buf[:0],
		zap.String(log.CommandKey, p.name),
		zap.Stringer(SideKey, side),
		zap.Duration(DurationKey, d),
	)
	if err == nil {
		fields = append(fields, zap.String(CodeKey, CodeOK))
	} else {
		fields = append(fields, zap.String(CodeKey, errs.CodeOf(err)), zap.Int(StatusKey, statusOf(err)))
	}
	// The request id, without the context's command, which may be the
	// caller's.
	var ctxFields [2]zap.Field
	for _, f := range log.AppendFields(ctx, ctxFields[:0]) {
		if f.Key == log.RequestIDKey {
			fields = append(fields, f)
		}
	}
	if c.Node != "" {
		fields = append(fields, zap.String(NodeKey, c.Node))
	}
	if err != nil {
		fields = append(fields, zap.String("error", errs.Truncate(err.Error(), p.m.maxError)))
	}
	if p.reqEnc != nil {
		fields = append(fields, p.body(RequestKey, p.reqType, p.reqEnc, c.Request))
	}
	if p.respEnc != nil && err == nil {
		fields = append(fields, p.body(ResponseKey, p.respType, p.respEnc, c.Response))
	}
	ce.Write(fields...)
}

// body encodes v, a pointer to a value of the type enc was compiled for.
func (p *plan) body(key string, typ reflect.Type, enc encFunc, v any) zap.Field {
	rv := reflectValue(v)
	if !rv.IsValid() {
		return zap.Skip()
	}
	var b []byte
	if rv.Type() == typ {
		b = enc(make([]byte, 0, 256), rv, 0)
	} else { // not what the spec says: encode it anyway, redacted
		b = p.m.redactor.encode(make([]byte, 0, 256), rv.Interface())
	}
	if len(b) > p.m.maxBody {
		cut := p.m.maxBody
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		return zap.String(key, string(b[:cut])+"…")
	}
	return zap.Any(key, json.RawMessage(b))
}
