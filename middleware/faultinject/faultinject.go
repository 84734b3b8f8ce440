package faultinject

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// Section is the configuration key of [Config].
const Section = "middleware.faultinject"

// Defaults of [CommandConfig].
const (
	DefaultErrorCode    = "unavailable"
	DefaultPanicMessage = "faultinject: injected panic"
)

// ErrInjected is the cause of every injected error: errors.Is(err,
// ErrInjected) tells an injected fault from a real one in the process that
// injected it. Across a remote route, the parameter fault=injected does.
var ErrInjected = errors.New("faultinject: injected fault")

// Config configures an [Injector]; it is the section
// "middleware.faultinject". The zero Config injects nothing.
type Config struct {
	// Enabled turns injection on. Default false.
	Enabled bool `mapstructure:"enabled"`
	// Seed seeds the random streams. Default 0: a random seed.
	Seed uint64 `mapstructure:"seed"`
	// Commands holds the faults, keyed by "service.Operation", "service.*"
	// or "*"; the most specific entry applies, as a whole, and keys match
	// without regard to case. Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig is an entry of [Config.Commands]: what to inject into the
// calls of the commands its key matches. Rates are probabilities between 0
// and 1; PanicRate+ErrorRate is at most 1.
type CommandConfig struct {
	// ErrorRate is the probability that a call fails with ErrorCode.
	ErrorRate float64 `mapstructure:"error_rate"`
	// ErrorCode is the code of injected errors: a kind's code or one
	// defined with errs.Define. Default "unavailable".
	ErrorCode string `mapstructure:"error_code"`
	// PanicRate is the probability that a call panics with PanicMessage.
	PanicRate float64 `mapstructure:"panic_rate"`
	// PanicMessage is the value of injected panics. Default
	// "faultinject: injected panic".
	PanicMessage string `mapstructure:"panic_message"`
	// LatencyRate is the probability that a call is delayed by Latency
	// before it goes on (or fails).
	LatencyRate float64 `mapstructure:"latency_rate"`
	// Latency is the delay.
	Latency time.Duration `mapstructure:"latency"`
}

// DefaultConfig returns the defaults: disabled.
func DefaultConfig() Config { return Config{} }

// Validate reports the first wrong setting as a [*config.Error] whose key
// is relative to the section (`commands["inventory.Reserve"].error_rate`).
func (c Config) Validate() error {
	return config.Under("commands", c.Commands.Validate(CommandConfig.check))
}

func (f CommandConfig) check() error {
	for _, r := range []struct {
		key string
		v   float64
	}{{"error_rate", f.ErrorRate}, {"panic_rate", f.PanicRate}, {"latency_rate", f.LatencyRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			return config.Errorf(r.key, "must be a probability between 0 and 1, got %v", r.v)
		}
	}
	if f.ErrorRate+f.PanicRate > 1 {
		return config.Errorf("error_rate", "error_rate + panic_rate must be at most 1, got %v", f.ErrorRate+f.PanicRate)
	}
	if f.Latency < 0 {
		return config.Errorf("latency", "must not be negative, got %s", f.Latency)
	}
	if f.LatencyRate > 0 && f.Latency == 0 {
		return config.Errorf("latency", "must be set when latency_rate is")
	}
	if f.ErrorCode != "" {
		if _, ok := errs.Lookup(f.ErrorCode); !ok {
			return config.Errorf("error_code", "unknown error code %q (want a kind's code such as \"unavailable\" or a code defined with errs.Define)", f.ErrorCode)
		}
	}
	return nil
}

// Option configures an [Injector].
type Option interface {
	apply(*Injector)
}

type optionFunc func(*Injector)

func (f optionFunc) apply(in *Injector) { f(in) }

// WithSeed sets the seed, overriding Config.Seed: tests use it to replay a
// sequence of faults. Seed 0 means a random seed.
func WithSeed(seed uint64) Option {
	return optionFunc(func(in *Injector) { in.seed = seed })
}

// Injector is the middleware; make one with [New]. It holds each command's
// random stream and counts, keyed by command name, so that rebuilding the
// chains continues the streams. It is safe for concurrent use.
type Injector struct {
	cfg  Config
	seed uint64

	mu     sync.Mutex
	states map[string]*state
}

// state is the faults of one command, its random stream and its counts.
type state struct {
	fault   CommandConfig
	err     *errs.Error
	panicAt float64 // draw < panicAt: panic
	errorAt float64 // panicAt <= draw < errorAt: error

	mu  sync.Mutex
	rng *rand.Rand

	delays, panics, errors atomic.Int64
}

// New returns an Injector for cfg, or the error of [Config.Validate] with
// its key under [Section] (`middleware.faultinject.commands["x"].error_rate`).
func New(cfg Config, opts ...Option) (*Injector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	in := &Injector{cfg: cfg, seed: cfg.Seed, states: map[string]*state{}}
	for _, o := range opts {
		if o != nil {
			o.apply(in)
		}
	}
	for in.seed == 0 {
		in.seed = rand.Uint64()
	}
	return in, nil
}

// Seed returns the seed in use: the configured one, or the random one
// chosen when the configured seed is 0.
func (in *Injector) Seed() uint64 { return in.seed }

// Counts returns how many delays, panics and errors the injector has
// injected into calls of the named command.
func (in *Injector) Counts(name string) (delays, panics, errors int64) {
	in.mu.Lock()
	s := in.states[name]
	in.mu.Unlock()
	if s == nil {
		return 0, 0, 0
	}
	return s.delays.Load(), s.panics.Load(), s.errors.Load()
}

// stateFor returns the state of the named command, making it on first use.
func (in *Injector) stateFor(name string, f CommandConfig) *state {
	in.mu.Lock()
	defer in.mu.Unlock()
	if s, ok := in.states[name]; ok {
		return s
	}
	if f.ErrorCode == "" {
		f.ErrorCode = DefaultErrorCode
	}
	if f.PanicMessage == "" {
		f.PanicMessage = DefaultPanicMessage
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	s := &state{
		fault:   f,
		err:     injectedError(f.ErrorCode),
		panicAt: f.PanicRate,
		errorAt: math.Min(1, f.PanicRate+f.ErrorRate),
		rng:     rand.New(rand.NewPCG(in.seed, h.Sum64())),
	}
	in.states[name] = s
	return s
}

// injectedError returns the error injected for code: immutable, so one
// value serves every call.
func injectedError(code string) *errs.Error {
	status := 0
	if d, ok := errs.Lookup(code); ok {
		status = d.Status()
	}
	return errs.Remote(status, code, "Injected fault: "+code+".", []errs.Param{{Key: "fault", Value: "injected"}}, nil).
		WithCause(ErrInjected)
}

// draw returns the two random numbers of one call.
func (s *state) draw() (latency, outcome float64) {
	s.mu.Lock()
	latency, outcome = s.rng.Float64(), s.rng.Float64()
	s.mu.Unlock()
	return latency, outcome
}

// Wrap returns a handler that injects the command's faults, or nil when
// the injector is disabled or has no fault for the command.
func (in *Injector) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if !in.cfg.Enabled {
		return nil
	}
	f, ok := in.cfg.Commands.Match(spec.Name)
	if !ok || (f.ErrorRate == 0 && f.PanicRate == 0 && (f.LatencyRate == 0 || f.Latency == 0)) {
		return nil
	}
	s := in.stateFor(spec.Name, f)
	return func(ctx context.Context, c *middleware.Call) error {
		latency, outcome := s.draw()
		if latency < s.fault.LatencyRate {
			s.delays.Add(1)
			if err := sleep(ctx, s.fault.Latency); err != nil {
				return err
			}
		}
		switch {
		case outcome < s.panicAt:
			s.panics.Add(1)
			panic(s.fault.PanicMessage)
		case outcome < s.errorAt:
			s.errors.Add(1)
			return s.err
		}
		return next(ctx, c)
	}
}

// sleep waits for d or until ctx ends, and then returns ctx's error as an
// errs error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return errs.From(ctx.Err())
	}
}

var _ middleware.Middleware = (*Injector)(nil)
