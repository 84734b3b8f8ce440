package timeout

import (
	"context"
	"errors"
	"time"

	"github.com/wegomesh/wego/config"
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
	// Commands holds per-command entries, keyed by a command name
	// ("inventory.Reserve"), a service ("inventory.*") or "*" (every
	// command); keys match without regard to case. Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig is an entry of [Config.Commands].
type CommandConfig struct {
	// Timeout is the timeout of the commands the key matches; zero
	// inherits (from a less specific entry, the attribute, then the
	// default).
	Timeout time.Duration `mapstructure:"timeout"`
	// Disable turns the timeout off for the command or service.
	Disable bool `mapstructure:"disable"`
}

// DefaultConfig returns the defaults: no timeout unless a command asks for
// one with [Key].
func DefaultConfig() Config { return Config{} }

// Section is the configuration key of [Config].
const Section = "middleware.timeout"

// Validate reports the first invalid value of c as a [*config.Error] whose
// key is relative to the section (`commands["inventory.Reserve"].timeout`).
func (c Config) Validate() error {
	if c.Default < 0 {
		return config.Errorf("default", "must not be negative, got %s", c.Default)
	}
	return config.Under("commands", c.Commands.Validate(func(e CommandConfig) error {
		if e.Timeout < 0 {
			return config.Errorf("timeout", "must not be negative, got %s", e.Timeout)
		}
		return nil
	}))
}

type mw struct{ cfg Config }

// New returns the timeout middleware configured by cfg, or the error of
// [Config.Validate] with its key under [Section].
func New(cfg Config) (middleware.Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	return &mw{cfg: cfg}, nil
}

// For returns the timeout that applies to the command described by spec
// under cfg, and false when none does. It is what [New]'s middleware
// computes once per command; tools use it to show the effective setting.
func (c Config) For(spec *middleware.Spec) (time.Duration, bool) {
	d := c.Default
	if v, ok := Key.Get(spec.Attributes); ok {
		d = v
	}
	for e := range c.Commands.Matching(spec.Name) {
		if e.Disable {
			d = 0
		} else if e.Timeout > 0 {
			d = e.Timeout
		}
	}
	return d, d > 0
}

// Wrap returns next with the command's timeout, or nil (nothing added) when no
// timeout applies.
func (m *mw) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	d, ok := m.cfg.For(spec)
	if !ok {
		return nil
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
	// The timeout of an internal call is for logs only.
	return errs.DeadlineExceeded(errs.InternalParam("timeout", d.String())).WithCause(err)
}
