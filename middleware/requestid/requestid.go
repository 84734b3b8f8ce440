package requestid

import (
	"context"
	"strings"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// DefaultHeader is the HTTP header that carries the request id, in both
// directions, unless the configuration names another one.
const DefaultHeader = "X-Request-Id"

// Config configures the request id middleware. It is read from the section
// "middleware.requestid" (the mapstructure tags are the keys); the zero
// value means the defaults.
type Config struct {
	// Header is the header that transports read the incoming id from and
	// write it to, on requests, responses and remote calls. Default
	// "X-Request-Id".
	Header string `mapstructure:"header"`
}

// DefaultConfig returns the defaults: the header "X-Request-Id".
func DefaultConfig() Config { return Config{Header: DefaultHeader} }

// HeaderName returns the configured header, or [DefaultHeader] when none
// is set.
func (c Config) HeaderName() string {
	if c.Header == "" {
		return DefaultHeader
	}
	return c.Header
}

// Section is the configuration key of [Config].
const Section = "middleware.requestid"

// Validate reports a header name that is not an HTTP token, as a
// [*config.Error] naming the key "header", relative to the section.
func (c Config) Validate() error {
	if c.Header == "" {
		return nil
	}
	for i := 0; i < len(c.Header); i++ {
		if !isTokenByte(c.Header[i]) {
			return config.Errorf("header", "%q is not a valid header name", c.Header)
		}
	}
	return nil
}

func isTokenByte(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// Option configures the middleware.
type Option interface{ apply(*options) }

type options struct {
	generate func() log.RequestID
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithGenerator makes the middleware generate ids with gen instead of
// [log.NewRequestID], for tests and examples that need predictable ids.
// Ids that gen returns must not be zero. Default log.NewRequestID.
func WithGenerator(gen func() log.RequestID) Option {
	return optionFunc(func(o *options) { o.generate = gen })
}

// New returns the request id middleware, or the error of [Config.Validate]
// with its key under [Section].
func New(cfg Config, opts ...Option) (middleware.Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	return &mw{generate: o.generate}, nil
}

type mw struct {
	generate func() log.RequestID // nil: log.NewRequestID
}

// Wrap returns a handler that gives the call a request id when its context
// has none. The same handler serves both sides.
func (m *mw) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	name := spec.Name
	if gen := m.generate; gen != nil {
		return func(ctx context.Context, c *middleware.Call) error {
			if _, ok := log.RequestIDFrom(ctx); ok {
				return next(ctx, c)
			}
			return next(log.ContextWithCommand(ctx, gen(), name), c)
		}
	}
	return func(ctx context.Context, c *middleware.Call) error {
		if _, ok := log.RequestIDFrom(ctx); ok {
			return next(ctx, c)
		}
		return next(log.ContextWithCommand(ctx, log.NewRequestID(), name), c)
	}
}

// FromHeader validates a request id received from a client, such as the
// value of the X-Request-Id header, with [log.ParseRequestID] after
// trimming surrounding spaces. It reports false for an empty or invalid
// value; the transport then generates an id instead (or leaves that to
// this middleware). It does not allocate for a valid value.
func FromHeader(value string) (log.RequestID, bool) {
	id, err := log.ParseRequestID(strings.TrimSpace(value))
	if err != nil {
		return log.RequestID{}, false
	}
	return id, true
}

// Ensure returns ctx when it carries a request id, and otherwise a copy of
// ctx that carries a new one, with the id either way. Transports that do
// not run this middleware before writing an error body use it.
func Ensure(ctx context.Context) (context.Context, log.RequestID) {
	if id, ok := log.RequestIDFrom(ctx); ok {
		return ctx, id
	}
	id := log.NewRequestID()
	return log.ContextWithRequestID(ctx, id), id
}

var _ middleware.Middleware = (*mw)(nil)
