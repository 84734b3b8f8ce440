package retry

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// Idempotent is the attribute that marks a command as safe to call again:
//
//	catalog.Register("inventory.Stock", stock, catalog.With(retry.Idempotent.Value(true)))
var Idempotent = middleware.NewKey[bool]("retry.idempotent")

// Config configures the middleware. It is read from the configuration
// section middleware.retry; [DefaultConfig] holds the defaults, and a zero
// field means its default.
type Config struct {
	// MaxAttempts is the number of attempts in all, the first included.
	// Default 3; 1 turns retries off.
	MaxAttempts int `mapstructure:"max_attempts"`
	// BaseDelay is the upper bound of the wait before the second attempt;
	// it doubles for each further one. Default 50ms.
	BaseDelay time.Duration `mapstructure:"base_delay"`
	// MaxDelay caps the wait. Default 1s.
	MaxDelay time.Duration `mapstructure:"max_delay"`
	// Budget limits retries per command.
	Budget BudgetConfig `mapstructure:"budget"`
	// Commands holds per-command entries, keyed by a command name
	// ("inventory.Reserve"), a service ("inventory.*") or "*" (every
	// command); keys match without regard to case. Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// BudgetConfig configures the retry budget of each command.
type BudgetConfig struct {
	// Ratio is the number of retries each call earns, in (0,1]. Default 0.1.
	Ratio float64 `mapstructure:"ratio"`
	// MinPerSecond is the number of retries earned per second whatever the
	// traffic, so that commands called rarely can retry too. Default 10.
	MinPerSecond float64 `mapstructure:"min_per_second"`
}

// CommandConfig is an entry of [Config.Commands]. Zero fields inherit from
// less specific entries, then from the Config and the [Idempotent]
// attribute.
type CommandConfig struct {
	// Idempotent marks the commands as safe to retry.
	Idempotent bool `mapstructure:"idempotent"`
	// Disable turns retries off for the commands, whatever their attribute.
	Disable bool `mapstructure:"disable"`
	// MaxAttempts, BaseDelay and MaxDelay override the Config's; zero
	// inherits.
	MaxAttempts int           `mapstructure:"max_attempts"`
	BaseDelay   time.Duration `mapstructure:"base_delay"`
	MaxDelay    time.Duration `mapstructure:"max_delay"`
}

// Defaults of [Config].
const (
	DefaultMaxAttempts  = 3
	DefaultBaseDelay    = 50 * time.Millisecond
	DefaultMaxDelay     = time.Second
	DefaultRatio        = 0.1
	DefaultMinPerSecond = 10
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxAttempts: DefaultMaxAttempts, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay,
		Budget: BudgetConfig{Ratio: DefaultRatio, MinPerSecond: DefaultMinPerSecond}}
}

// Section is the configuration key of [Config].
const Section = "middleware.retry"

// Validate reports the first invalid value of c as a [*config.Error] whose
// key is relative to the section (`commands["inventory.Stock"].max_delay`).
func (c Config) Validate() error {
	if err := c.own().check(); err != nil {
		return err
	}
	switch {
	case c.Budget.Ratio < 0 || c.Budget.Ratio > 1:
		return config.Errorf("budget.ratio", "must be in (0,1], got %v", c.Budget.Ratio)
	case c.Budget.MinPerSecond < 0:
		return config.Errorf("budget.min_per_second", "must not be negative, got %v", c.Budget.MinPerSecond)
	}
	return config.Under("commands", c.Commands.Validate(CommandConfig.check))
}

// own returns the Config's own settings as an entry.
func (c Config) own() CommandConfig {
	return CommandConfig{MaxAttempts: c.MaxAttempts, BaseDelay: c.BaseDelay, MaxDelay: c.MaxDelay}
}

func (e CommandConfig) check() error {
	switch {
	case e.MaxAttempts < 0:
		return config.Errorf("max_attempts", "must not be negative, got %d", e.MaxAttempts)
	case e.BaseDelay < 0:
		return config.Errorf("base_delay", "must not be negative, got %s", e.BaseDelay)
	case e.MaxDelay < 0:
		return config.Errorf("max_delay", "must not be negative, got %s", e.MaxDelay)
	}
	return nil
}

// Policy is what the middleware does for one command, as [Config.For]
// resolves it.
type Policy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// For returns the retry policy of the command described by spec, and
// false when the command is not retried: it is not idempotent, retries
// are disabled for it, or it has at most one attempt.
func (c Config) For(spec *middleware.Spec) (Policy, bool) {
	idem, _ := Idempotent.Get(spec.Attributes)
	p := Policy{MaxAttempts: c.MaxAttempts, BaseDelay: c.BaseDelay, MaxDelay: c.MaxDelay}
	for e := range c.Commands.Matching(spec.Name) {
		if e.Disable {
			idem = false
		} else if e.Idempotent {
			idem = true
		}
		if e.MaxAttempts != 0 {
			p.MaxAttempts = e.MaxAttempts
		}
		if e.BaseDelay != 0 {
			p.BaseDelay = e.BaseDelay
		}
		if e.MaxDelay != 0 {
			p.MaxDelay = e.MaxDelay
		}
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	return p, idem && p.MaxAttempts > 1
}

// Clock is the time source of the middleware: tests replace it to control
// backoff waits and the budget's refill.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done and then returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Option configures the middleware.
type Option interface{ apply(*mw) }

type optionFunc func(*mw)

func (f optionFunc) apply(m *mw) { f(m) }

// WithClock sets the clock. Default: the system clock and timers.
func WithClock(c Clock) Option {
	return optionFunc(func(m *mw) {
		if c != nil {
			m.clock = c
		}
	})
}

// WithRand sets the source of the jitter, for reproducible tests. The
// middleware serializes its use. Default: a randomly seeded generator.
func WithRand(r *rand.Rand) Option {
	return optionFunc(func(m *mw) {
		if r != nil {
			m.rand = r
		}
	})
}

type mw struct {
	cfg     Config
	clock   Clock
	randMu  sync.Mutex
	rand    *rand.Rand
	budgets sync.Map // command name -> *budget
}

// New returns the retry middleware configured by cfg, or the error of
// [Config.Validate] with its key under [Section].
func New(cfg Config, opts ...Option) (middleware.Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	if cfg.Budget.Ratio == 0 {
		cfg.Budget.Ratio = DefaultRatio
	}
	if cfg.Budget.MinPerSecond == 0 {
		cfg.Budget.MinPerSecond = DefaultMinPerSecond
	}
	m := &mw{cfg: cfg, clock: realClock{}}
	for _, o := range opts {
		if o != nil {
			o.apply(m)
		}
	}
	if m.rand == nil {
		m.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return m, nil
}

// UnaryOnly marks retries as having nothing to do for streaming commands:
// a stream cannot be sent again once it has started.
func (m *mw) UnaryOnly() {}

// Wrap returns next with retries, or nil (nothing added) when the command is not
// retried.
func (m *mw) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	p, ok := m.cfg.For(spec)
	if !ok {
		return nil
	}
	b := m.budget(spec.Name)
	return func(ctx context.Context, c *middleware.Call) error {
		b.deposit()
		err := next(ctx, c)
		if err == nil || !retryable(err) {
			return err
		}
		return m.retry(ctx, c, next, p, b, err)
	}
}

// retry makes the attempts after the first, which failed with err.
func (m *mw) retry(ctx context.Context, c *middleware.Call, next middleware.Handler, p Policy, b *budget, err error) error {
	for attempt := 1; attempt < p.MaxAttempts; attempt++ {
		if ctx.Err() != nil {
			return err
		}
		d := m.backoff(p, attempt)
		if dl, ok := ctx.Deadline(); ok && !m.clock.Now().Add(d).Before(dl) {
			return err // the wait would outlast the caller's deadline
		}
		if !b.withdraw(m.clock.Now()) {
			return err
		}
		if m.clock.Sleep(ctx, d) != nil {
			return err
		}
		err = next(ctx, c)
		if err == nil || !retryable(err) {
			return err
		}
	}
	return err
}

// backoff returns the wait before attempt+1: full jitter, uniform in
// [0, min(max, base·2^(attempt-1))].
func (m *mw) backoff(p Policy, attempt int) time.Duration {
	ceil := p.BaseDelay
	for i := 1; i < attempt && ceil < p.MaxDelay; i++ {
		if ceil > p.MaxDelay/2 {
			ceil = p.MaxDelay
		} else {
			ceil *= 2
		}
	}
	ceil = min(ceil, p.MaxDelay)
	if ceil <= 0 {
		return 0
	}
	m.randMu.Lock()
	d := time.Duration(m.rand.Int64N(int64(ceil) + 1))
	m.randMu.Unlock()
	return d
}

// retryable reports whether err is worth another attempt.
func retryable(err error) bool {
	return errs.KindOf(err).Transient() && errs.CodeOf(err) != "circuit_open"
}

func (m *mw) budget(name string) *budget {
	if v, ok := m.budgets.Load(name); ok {
		return v.(*budget)
	}
	per := m.cfg.Budget.MinPerSecond
	b := &budget{
		earn:   int64(m.cfg.Budget.Ratio * milli),
		perSec: per,
		limit:  max(10*per, 1),
		tokens: per,
		last:   m.clock.Now(),
	}
	v, _ := m.budgets.LoadOrStore(name, b)
	return v.(*budget)
}

const milli = 1000

// budget is a token bucket of retries. Calls deposit without a lock;
// retries, which are rare, take the lock.
type budget struct {
	earned atomic.Int64 // milli-tokens deposited since the last withdrawal
	earn   int64        // milli-tokens per call
	perSec float64
	limit  float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (b *budget) deposit() { b.earned.Add(b.earn) }

func (b *budget) withdraw(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tokens + float64(b.earned.Swap(0))/milli
	if el := now.Sub(b.last); el > 0 {
		t += el.Seconds() * b.perSec
		b.last = now
	}
	t = min(t, b.limit)
	ok := t >= 1
	if ok {
		t--
	}
	b.tokens = t
	return ok
}

var _ middleware.UnaryOnly = (*mw)(nil)
