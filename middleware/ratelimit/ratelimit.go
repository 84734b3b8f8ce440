package ratelimit

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// Section is the configuration key of [Config].
const Section = "middleware.ratelimit"

// Config configures a [Limiter]; it is the section "middleware.ratelimit".
// The zero Config limits nothing.
type Config struct {
	// Rate is the number of calls per second each command may take, on
	// average. Default 0: no rate limit.
	Rate float64 `mapstructure:"rate"`
	// Burst is the size of each command's token bucket: how many calls may
	// come at once after a quiet period. Default 0: Rate rounded up, at
	// least 1.
	Burst int `mapstructure:"burst"`
	// MaxConcurrent is the number of calls of each command that may be in
	// flight at once. Default 0: no limit.
	MaxConcurrent int `mapstructure:"max_concurrent"`
	// Commands overrides the settings above for the commands a key matches:
	// "service.Operation", "service.*" or "*". Each setting comes from the
	// most specific entry that sets it; keys match without regard to case.
	// Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig is an entry of [Config.Commands]. A nil field inherits the
// value from a less specific entry, then from the top level of [Config];
// zero turns the limit off.
type CommandConfig struct {
	Rate          *float64 `mapstructure:"rate"`
	Burst         *int     `mapstructure:"burst"`
	MaxConcurrent *int     `mapstructure:"max_concurrent"`
}

// DefaultConfig returns the defaults: no limits.
func DefaultConfig() Config { return Config{} }

// Validate reports the first wrong setting as a [*config.Error] whose key
// is relative to the section ("rate", `commands["inventory.Reserve"].burst`).
func (c Config) Validate() error {
	if err := (CommandConfig{Rate: &c.Rate, Burst: &c.Burst, MaxConcurrent: &c.MaxConcurrent}).check(); err != nil {
		return err
	}
	return config.Under("commands", c.Commands.Validate(CommandConfig.check))
}

func (l CommandConfig) check() error {
	switch {
	case l.Rate != nil && (*l.Rate < 0 || math.IsNaN(*l.Rate) || math.IsInf(*l.Rate, 0)):
		return config.Errorf("rate", "must be a finite number of calls per second, at least 0, got %v", *l.Rate)
	case l.Burst != nil && *l.Burst < 0:
		return config.Errorf("burst", "must not be negative, got %d", *l.Burst)
	case l.MaxConcurrent != nil && *l.MaxConcurrent < 0:
		return config.Errorf("max_concurrent", "must not be negative, got %d", *l.MaxConcurrent)
	}
	return nil
}

// Option configures a [Limiter].
type Option interface {
	apply(*Limiter)
}

type optionFunc func(*Limiter)

func (f optionFunc) apply(l *Limiter) { f(l) }

// WithClock sets the clock the token buckets read. Default time.Now. Tests
// use it to control time.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(l *Limiter) {
		if now != nil {
			l.now = now
		}
	})
}

// Limiter is the middleware; make one with [New]. It holds the state of
// every command it wraps (a bucket, a count of calls in flight), keyed by
// command name, and is safe for concurrent use.
type Limiter struct {
	cfg Config
	now func() time.Time

	mu     sync.Mutex
	states map[string]*state
}

// state is the limits of one command and their current state.
type state struct {
	bucket   *rate.Limiter // nil: no rate limit
	max      int64         // 0: no concurrency limit
	inflight atomic.Int64
}

// New returns a Limiter for cfg, or the error of [Config.Validate] with its
// key under [Section] ("middleware.ratelimit.rate").
func New(cfg Config, opts ...Option) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	l := &Limiter{cfg: cfg, now: time.Now, states: map[string]*state{}}
	for _, o := range opts {
		if o != nil {
			o.apply(l)
		}
	}
	return l, nil
}

// Errors returned for rejected calls. Both have the code
// "resource_exhausted" and HTTP status 429; the parameter "limit" says
// which limit was hit. They are shared values, so a rejection does not
// allocate.
var (
	errRate        = errs.ResourceExhausted(errs.P("limit", "rate"))
	errConcurrency = errs.ResourceExhausted(errs.P("limit", "concurrency"))
)

// Effective returns the limits that apply to the named command: calls per
// second, burst and calls in flight, zero meaning no limit.
func (l *Limiter) Effective(name string) (perSecond float64, burst, maxConcurrent int) {
	perSecond, burst, maxConcurrent = l.cfg.Rate, l.cfg.Burst, l.cfg.MaxConcurrent
	for o := range l.cfg.Commands.Matching(name) {
		if o.Rate != nil {
			perSecond = *o.Rate
		}
		if o.Burst != nil {
			burst = *o.Burst
		}
		if o.MaxConcurrent != nil {
			maxConcurrent = *o.MaxConcurrent
		}
	}
	if perSecond == 0 {
		return 0, 0, maxConcurrent
	}
	if burst == 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return perSecond, burst, maxConcurrent
}

// stateFor returns the state of the named command, making it on first use.
func (l *Limiter) stateFor(name string) *state {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.states[name]; ok {
		return s
	}
	perSecond, burst, maxConcurrent := l.Effective(name)
	s := &state{max: int64(maxConcurrent)}
	if perSecond > 0 {
		s.bucket = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	l.states[name] = s
	return s
}

// InFlight returns the number of calls of the named command that hold a
// slot of its bulkhead now (0 when the command has no concurrency limit).
func (l *Limiter) InFlight(name string) int {
	l.mu.Lock()
	s := l.states[name]
	l.mu.Unlock()
	if s == nil {
		return 0
	}
	return int(s.inflight.Load())
}

// Wrap returns a handler that enforces the command's limits, or nil when
// the command has none.
func (l *Limiter) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	perSecond, _, maxConcurrent := l.Effective(spec.Name)
	if perSecond == 0 && maxConcurrent == 0 {
		return nil
	}
	s := l.stateFor(spec.Name)
	now := l.now
	switch {
	case s.max == 0:
		return func(ctx context.Context, c *middleware.Call) error {
			if !s.bucket.AllowN(now(), 1) {
				return errRate
			}
			return next(ctx, c)
		}
	case s.bucket == nil:
		return func(ctx context.Context, c *middleware.Call) error {
			if s.inflight.Add(1) > s.max {
				s.inflight.Add(-1)
				return errConcurrency
			}
			defer s.inflight.Add(-1)
			return next(ctx, c)
		}
	}
	return func(ctx context.Context, c *middleware.Call) error {
		// The bulkhead first: taking a slot can be undone, a token cannot.
		if s.inflight.Add(1) > s.max {
			s.inflight.Add(-1)
			return errConcurrency
		}
		defer s.inflight.Add(-1)
		if !s.bucket.AllowN(now(), 1) {
			return errRate
		}
		return next(ctx, c)
	}
}

var _ middleware.Middleware = (*Limiter)(nil)
