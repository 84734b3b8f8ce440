package recovery

import (
	"context"
	"fmt"
	"runtime"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// DefaultMaxStackBytes is the default limit of the stack logged with a
// panic.
const DefaultMaxStackBytes = 64 << 10

// Message is the message of the log line written for a recovered panic.
const Message = "panic recovered"

// Config configures the recovery middleware. It is read from the section
// "middleware.recovery" (the mapstructure tags are the keys); the zero
// value of each field means its default.
type Config struct {
	// OmitStack leaves the stack out of the log line. Default false.
	OmitStack bool `mapstructure:"omit_stack"`
	// MaxStackBytes limits the size of the stack logged. Zero means
	// [DefaultMaxStackBytes] (64 KiB).
	MaxStackBytes int `mapstructure:"max_stack_bytes"`
}

// DefaultConfig returns the defaults: the stack is logged, up to 64 KiB.
func DefaultConfig() Config { return Config{MaxStackBytes: DefaultMaxStackBytes} }

// Section is the configuration key of [Config].
const Section = "middleware.recovery"

// Validate reports a negative max_stack_bytes as a [*config.Error] naming
// the key "max_stack_bytes", relative to the section.
func (c Config) Validate() error {
	if c.MaxStackBytes < 0 {
		return config.Errorf("max_stack_bytes", "must not be negative, got %d", c.MaxStackBytes)
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

// WithLogger makes the middleware log recovered panics to l. By default
// it logs to the logger of the call's context ([log.FromContext]), which
// is the process default when the context carries none.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(o *options) { o.logger = l })
}

// PanicError is the cause of the error that a recovered panic becomes. It
// is for logs: the error's Message never includes it.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the goroutine that panicked, as
	// runtime.Stack formats it, cut at the configured size; nil when the
	// stack is omitted.
	Stack []byte
}

// Error returns "panic: " and the panic value, without the stack.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// New returns the recovery middleware, or the error of [Config.Validate]
// with its key under [Section].
func New(cfg Config, opts ...Option) (middleware.Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	max := cfg.MaxStackBytes
	if max == 0 {
		max = DefaultMaxStackBytes
	}
	if cfg.OmitStack {
		max = 0
	}
	return &mw{logger: o.logger, maxStack: max}, nil
}

type mw struct {
	logger   *zap.Logger // nil: the context's
	maxStack int         // 0: no stack
}

// Wrap returns a handler that recovers panics of next.
func (m *mw) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	name := spec.Name
	return func(ctx context.Context, c *middleware.Call) (err error) {
		if _, ok := log.RequestIDFrom(ctx); !ok {
			ctx = log.ContextWithCommand(ctx, log.NewRequestID(), name)
		}
		side := spec.Side
		defer func() {
			if v := recover(); v != nil {
				err = m.recovered(ctx, name, side, v)
			}
		}()
		return next(ctx, c)
	}
}

// recovered logs the panic value v and returns the error the call ends
// with.
func (m *mw) recovered(ctx context.Context, name string, side middleware.Side, v any) error {
	pe := &PanicError{Value: v}
	if m.maxStack > 0 {
		buf := make([]byte, m.maxStack)
		pe.Stack = buf[:runtime.Stack(buf, false)]
	}
	l := m.logger
	if l == nil {
		l = log.FromContext(ctx)
	}
	if ce := l.Check(zap.ErrorLevel, Message); ce != nil {
		fields := []zap.Field{
			zap.String(log.CommandKey, name),
			zap.Stringer("side", side),
		}
		if id, ok := log.RequestIDFrom(ctx); ok {
			fields = append(fields, log.RequestIDField(id))
		}
		fields = append(fields, zap.String("panic", fmt.Sprint(v)))
		if pe.Stack != nil {
			fields = append(fields, zap.ByteString("stack", pe.Stack))
		}
		ce.Write(fields...)
	}
	return errs.Internal().WithCause(pe)
}

var (
	_ middleware.Middleware = (*mw)(nil)
	_ error                 = (*PanicError)(nil)
)
