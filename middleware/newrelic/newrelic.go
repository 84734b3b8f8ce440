package newrelic

import (
	"context"
	"slices"
	"strings"
	"time"

	nr "github.com/newrelic/go-agent/v3/newrelic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// Section is the configuration key of [Config].
const Section = "middleware.newrelic"

// Defaults of [Config].
const (
	DefaultLogLevel = "info"
	// Library is the library name of external segments.
	Library = "wego"
)

// Attribute names set on transactions.
const (
	AttrRequestID = "request_id"
	AttrOutcome   = "outcome"
)

// Config configures the agent application and the middleware; it is the
// section "middleware.newrelic". The zero Config is off (no license key).
type Config struct {
	// Enabled turns reporting on, when LicenseKey is set too. Default true.
	Enabled bool `mapstructure:"enabled"`
	// LicenseKey is the New Relic license key (40 characters). Default
	// empty: off.
	LicenseKey string `mapstructure:"license_key"`
	// AppName is the application's name in New Relic; required when on.
	AppName string `mapstructure:"app_name"`
	// DistributedTracing turns on distributed tracing and span events.
	// Default true.
	DistributedTracing bool `mapstructure:"distributed_tracing"`
	// LogLevel is the lowest level of agent log entries written to the zap
	// logger: "off", "error", "warn", "info" or "debug". Default "info".
	LogLevel string `mapstructure:"log_level"`
	// Commands turns recording off for the commands a key matches
	// ("service.Operation", "service.*" or "*"; the most specific entry
	// wins, and keys match without regard to case). Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig is an entry of [Config.Commands].
type CommandConfig struct {
	// Enabled, when set, turns recording on or off for the commands the
	// pattern matches.
	Enabled *bool `mapstructure:"enabled"`
}

// DefaultConfig returns the defaults: enabled, distributed tracing on, log
// level info, and no license key, so off until one is set.
func DefaultConfig() Config {
	return Config{Enabled: true, DistributedTracing: true, LogLevel: DefaultLogLevel}
}

// On reports whether c turns reporting on: enabled with a license key.
func (c Config) On() bool { return c.Enabled && c.LicenseKey != "" }

// Validate reports the first wrong setting as a [*config.Error] whose key
// is relative to the section ("app_name"). Settings are checked when
// reporting is on; the commands map always.
func (c Config) Validate() error {
	if err := c.Commands.Validate(nil); err != nil {
		return config.Under("commands", err)
	}
	if _, ok := logLevel(c.LogLevel); !ok {
		return config.Errorf("log_level", "unknown level %q (want off, error, warn, info or debug)", c.LogLevel)
	}
	if !c.On() {
		return nil
	}
	if len(c.LicenseKey) != 40 {
		// Never quote the key: it is a secret.
		return config.Errorf("license_key", "must be 40 characters long, got %d", len(c.LicenseKey))
	}
	if strings.TrimSpace(c.AppName) == "" {
		return config.Errorf("app_name", "required when license_key is set")
	}
	return nil
}

func logLevel(s string) (zapcore.Level, bool) {
	switch strings.ToLower(s) {
	case "", "info":
		return zapcore.InfoLevel, true
	case "off":
		return zapcore.FatalLevel + 1, true
	case "error":
		return zapcore.ErrorLevel, true
	case "warn":
		return zapcore.WarnLevel, true
	case "debug":
		return zapcore.DebugLevel, true
	}
	return 0, false
}

// Option configures [New] and [NewApplication].
type Option interface {
	apply(*options)
}

type options struct {
	app       *nr.Application
	appSet    bool
	agentOpts []nr.ConfigOption
	logger    *zap.Logger
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithApplication makes [New] use app instead of creating an application
// from the configuration; the caller keeps owning it (Middleware.Shutdown
// leaves it running). A nil app turns the middleware off.
func WithApplication(app *nr.Application) Option {
	return optionFunc(func(o *options) { o.app, o.appSet = app, true })
}

// AgentOptions adds agent configuration options, applied after those
// derived from Config: a proxy transport, labels, or anything else the agent
// offers. Default none.
func AgentOptions(opts ...nr.ConfigOption) Option {
	return optionFunc(func(o *options) { o.agentOpts = append(o.agentOpts, opts...) })
}

// WithLogger sets the zap logger the agent logs to. Default the process
// logger, log.L().
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(o *options) { o.logger = l })
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	return o
}

// NewApplication validates cfg and, when it turns reporting on, creates the
// agent application, which connects to New Relic in the background (see
// Application.WaitForConnection). When reporting is off it returns nil, nil:
// nothing is created. Client errors (HTTP 4xx) of web transactions are not
// counted as errors, as the middleware does not count them for commands.
// Call Shutdown on the application when the program ends, to send what it
// holds.
func NewApplication(cfg Config, opts ...Option) (*nr.Application, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	if !cfg.On() {
		return nil, nil
	}
	return newApplication(cfg, collect(opts))
}

func newApplication(cfg Config, o options) (*nr.Application, error) {
	logger := o.logger
	if logger == nil {
		logger = log.L()
	}
	level, _ := logLevel(cfg.LogLevel)
	agentOpts := []nr.ConfigOption{
		nr.ConfigAppName(cfg.AppName),
		nr.ConfigLicense(cfg.LicenseKey),
		nr.ConfigDistributedTracerEnabled(cfg.DistributedTracing),
		nr.ConfigLogger(&agentLogger{l: logger.Named("newrelic"), level: level}),
		func(c *nr.Config) {
			ignore := []int{0, 5}
			for s := 400; s < 500; s++ {
				ignore = append(ignore, s)
			}
			c.ErrorCollector.IgnoreStatusCodes = ignore
		},
	}
	app, err := nr.NewApplication(append(agentOpts, o.agentOpts...)...)
	if err != nil {
		return nil, &config.Error{Key: Section, Err: err}
	}
	return app, nil
}

// Middleware records calls in New Relic; make one with [New]. It is safe
// for concurrent use and may be put in both chains.
type Middleware struct {
	cfg  Config
	app  *nr.Application
	owns bool
}

// New returns the middleware for cfg. Unless [WithApplication] gives one,
// it creates the agent application when cfg turns reporting on; when
// reporting is off, the middleware does nothing and costs nothing.
func New(cfg Config, opts ...Option) (*Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	o := collect(opts)
	m := &Middleware{cfg: cfg}
	switch {
	case o.appSet:
		m.app = o.app
	case cfg.On():
		app, err := newApplication(cfg, o)
		if err != nil {
			return nil, err
		}
		m.app, m.owns = app, true
	}
	return m, nil
}

// Application returns the agent application, or nil when off: give it to
// [HTTPServerMiddleware].
func (m *Middleware) Application() *nr.Application { return m.app }

// Shutdown sends what the application holds and stops it, waiting at most
// timeout, when New created it; otherwise it does nothing.
func (m *Middleware) Shutdown(timeout time.Duration) {
	if m.owns && m.app != nil {
		m.app.Shutdown(timeout)
	}
}

// commandKey marks a context whose transaction a command's server chain has
// already named, so that a command called from it becomes a segment.
type commandKey struct{}

// Wrap returns a handler that records the call, or nil when the
// middleware is off or recording is off for the command.
func (m *Middleware) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if m.app == nil {
		return nil
	}
	if cc, ok := m.cfg.Commands.Match(spec.Name); ok && cc.Enabled != nil && !*cc.Enabled {
		return nil
	}
	app, name := m.app, spec.Name
	if spec.Side == middleware.ClientSide {
		return func(ctx context.Context, c *middleware.Call) error {
			return external(ctx, c, name, next)
		}
	}
	return func(ctx context.Context, c *middleware.Call) error {
		txn := nr.FromContext(ctx)
		switch {
		case txn == nil:
			txn = app.StartTransaction(name)
			// Deferred directly, so that the agent records a panic (and
			// lets it go on).
			defer txn.End()
			ctx = nr.NewContext(ctx, txn)
		case ctx.Value(commandKey{}) == txn:
			// Called from another command: a segment of its transaction.
			seg := txn.StartSegment(name)
			defer seg.End()
			return next(ctx, c)
		default:
			// The transport's web transaction: named after the command.
			txn.SetName(name)
		}
		ctx = context.WithValue(ctx, commandKey{}, txn)
		if id, ok := log.RequestIDFrom(ctx); ok {
			txn.AddAttribute(AttrRequestID, id.String())
		}
		err := next(ctx, c)
		if err == nil {
			txn.AddAttribute(AttrOutcome, "ok")
			return nil
		}
		code := errs.CodeOf(err)
		txn.AddAttribute(AttrOutcome, code)
		if errs.KindOf(err).ServerFault() {
			txn.NoticeError(nr.Error{Message: err.Error(), Class: code})
		}
		return err
	}
}

// external records a call with a remote route as an external segment of
// the transaction in ctx, if any. The node is known on entry: remote
// routes that spread calls over nodes (catalog.Balancer) pick it before
// the client chain runs.
func external(ctx context.Context, c *middleware.Call, name string, next middleware.Handler) error {
	node := c.Node
	txn := nr.FromContext(ctx)
	if node == "" || txn == nil {
		return next(ctx, c)
	}
	seg := nr.ExternalSegment{StartTime: txn.StartSegmentNow(), Host: node, Procedure: name, Library: Library}
	err := next(ctx, c)
	if e, ok := errs.As(err); ok {
		seg.SetStatusCode(e.Status())
	}
	seg.End()
	return err
}

// agentLogger writes the agent's log entries to zap.
type agentLogger struct {
	l     *zap.Logger
	level zapcore.Level
}

func (a *agentLogger) log(level zapcore.Level, msg string, kv map[string]any) {
	if level < a.level {
		return
	}
	ce := a.l.Check(level, msg)
	if ce == nil {
		return
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fields := make([]zap.Field, 0, len(keys))
	for _, k := range keys {
		fields = append(fields, zap.Any(k, kv[k]))
	}
	ce.Write(fields...)
}

func (a *agentLogger) Error(msg string, kv map[string]any) { a.log(zapcore.ErrorLevel, msg, kv) }
func (a *agentLogger) Warn(msg string, kv map[string]any)  { a.log(zapcore.WarnLevel, msg, kv) }
func (a *agentLogger) Info(msg string, kv map[string]any)  { a.log(zapcore.InfoLevel, msg, kv) }
func (a *agentLogger) Debug(msg string, kv map[string]any) { a.log(zapcore.DebugLevel, msg, kv) }
func (a *agentLogger) DebugEnabled() bool {
	return a.level <= zapcore.DebugLevel && a.l.Core().Enabled(zapcore.DebugLevel)
}

var _ middleware.Middleware = (*Middleware)(nil)
