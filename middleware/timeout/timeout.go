package timeout

import (
	"context"
	"errors"
	"fmt"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// Key is the attribute that gives a command its timeout at registration.
// Configuration entries for the command or its service override it; a
// zero or negative value means no timeout.
//
//	catalog.Register("inventory.Reserve", reserve, catalog.With(timeout.Key.Value(2*time.Second)))
var Key = middleware.NewKey[time.Duration]("timeout.timeout")

// Config configures the middleware. It is read from the configuration
// section middleware.timeout. The zero Config sets no timeout at all.
type Config struct {
	// Default is the timeout of commands that have neither an entry in
	// Commands nor a [Key] attribute. Zero (the default) means none.
	Default time.Duration `mapstructure:"default"`
	// Commands holds per-command and per-service entries: service name,
	// then operation name or "*" for every operation of the service.
	Commands map[string]map[string]CommandConfig `mapstructure:"commands"`
}

// CommandConfig is the entry of a command or a service in
// [Config.Commands].
type CommandConfig struct {
	// Timeout is the command's timeout; zero inherits (from the service
	// entry, the attribute, then the default).
	Timeout time.Duration `mapstructure:"timeout"`
	// Disable turns the timeout off for the command or service.
	Disable bool `mapstructure:"disable"`
}

// DefaultConfig returns the defaults: no timeout unless a command asks for
// one with [Key].
func DefaultConfig() Config { return Config{} }

const prefix = "middleware.timeout"

// Validate reports the first invalid value of c, naming its key.
func (c Config) Validate() error {
	if c.Default < 0 {
		return fmt.Errorf("%s.default: must not be negative, got %s", prefix, c.Default)
	}
	return eachCommand(prefix, c.Commands, func(key string, e CommandConfig) error {
		if e.Timeout < 0 {
			return fmt.Errorf("%s.timeout: must not be negative, got %s", key, e.Timeout)
		}
		return nil
	})
}

type mw struct{ cfg Config }

// New returns the timeout middleware configured by cfg, or the error of
// [Config.Validate].
func New(cfg Config) (middleware.Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &mw{cfg: cfg}, nil
}

// For returns the timeout that applies to the command described by spec
// under cfg, and false when none does. It is what [New]'s middleware
// computes once per command; tools use it to show the effective setting.
func (c Config) For(spec *middleware.Spec) (time.Duration, bool) {
	exact, service := lookupCommand(c.Commands, spec.Name)
	d := c.Default
	if v, ok := Key.Get(spec.Attributes); ok {
		d = v
	}
	for _, e := range []*CommandConfig{service, exact} { // the exact entry last: it wins
		if e == nil {
			continue
		}
		if e.Disable {
			d = 0
		} else if e.Timeout > 0 {
			d = e.Timeout
		}
	}
	return d, d > 0
}

// Wrap returns next with the command's timeout, or next itself when no
// timeout applies.
func (m *mw) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	d, ok := m.cfg.For(spec)
	if !ok {
		return next
	}
	return func(ctx context.Context, c *middleware.Call) error {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
			return next(ctx, c) // the caller's deadline comes first
		}
		tctx, cancel := context.WithTimeout(ctx, d)
		err := next(tctx, c)
		if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
			err = deadlineExceeded(err, d)
		}
		cancel()
		return err
	}
}

// deadlineExceeded returns err as an errs error of kind DeadlineExceeded.
func deadlineExceeded(err error, d time.Duration) error {
	if e, ok := errs.As(err); ok && e.Kind() == errs.KindDeadlineExceeded {
		return err
	}
	return errs.DeadlineExceeded(errs.P("timeout", d.String())).WithCause(err)
}
