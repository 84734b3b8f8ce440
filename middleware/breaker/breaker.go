package breaker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// ErrOpen is the definition of the error a call gets while its breaker is
// open (or half-open and busy): code "circuit_open", kind unavailable.
// Test for it with errors.Is(err, breaker.ErrOpen).
var ErrOpen = errs.Define("circuit_open", errs.KindUnavailable,
	"The service is unavailable; try again later.")

// Trip modes, the values of [Config.Mode].
const (
	// ModeRatio opens the breaker on a share of failures over a rolling
	// window.
	ModeRatio = "ratio"
	// ModeConsecutive opens the breaker after a number of failures in a row.
	ModeConsecutive = "consecutive"
)

// buckets is the number of buckets of the rolling window.
const buckets = 10

// Config configures the breakers. It is read from the configuration
// section middleware.breaker; [DefaultConfig] holds the defaults, and a
// zero field means its default.
type Config struct {
	// Mode is the trip rule: [ModeRatio] (default) or [ModeConsecutive].
	Mode string `mapstructure:"mode"`
	// Window is the rolling window over which the ratio mode counts calls,
	// in 10 buckets. Default 10s.
	Window time.Duration `mapstructure:"window"`
	// MinRequests is the number of calls counted in the window below which
	// the ratio mode never opens. Default 20.
	MinRequests uint32 `mapstructure:"min_requests"`
	// FailureRatio is the share of failures, in (0,1], at which the ratio
	// mode opens. Default 0.5.
	FailureRatio float64 `mapstructure:"failure_ratio"`
	// ConsecutiveFailures is the number of failures in a row at which the
	// consecutive mode opens. Default 5.
	ConsecutiveFailures uint32 `mapstructure:"consecutive_failures"`
	// OpenTimeout is how long the breaker stays open before it lets calls
	// through again (half-open). Default 30s.
	OpenTimeout time.Duration `mapstructure:"open_timeout"`
	// HalfOpenMaxRequests is the number of calls let through when
	// half-open; that many successes close the breaker. Default 1.
	HalfOpenMaxRequests uint32 `mapstructure:"half_open_max_requests"`
	// PerNode keeps one breaker per command and remote node besides the
	// command's. Default true; DefaultConfig sets it, and the zero Config
	// has it off.
	PerNode bool `mapstructure:"per_node"`
	// Local guards local commands too. Default false: a breaker protects
	// callers from a remote service that fails, and a command routed to
	// another process is what [middleware.Spec.Remote] reports; an
	// in-process function gains little from one and would pay for it on
	// every call.
	Local bool `mapstructure:"local"`
	// Commands holds per-command entries, keyed by a command name
	// ("inventory.Reserve"), a service ("inventory.*") or "*" (every
	// command); keys match without regard to case. Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig is an entry of [Config.Commands]. Zero fields inherit
// from less specific entries, then from the Config.
type CommandConfig struct {
	Mode                string        `mapstructure:"mode"`
	Window              time.Duration `mapstructure:"window"`
	MinRequests         uint32        `mapstructure:"min_requests"`
	FailureRatio        float64       `mapstructure:"failure_ratio"`
	ConsecutiveFailures uint32        `mapstructure:"consecutive_failures"`
	OpenTimeout         time.Duration `mapstructure:"open_timeout"`
	HalfOpenMaxRequests uint32        `mapstructure:"half_open_max_requests"`
	// Disable turns the breaker off for the commands the key matches. The
	// most specific entry decides, so "inventory.*" can turn the breakers
	// of a service off and "inventory.Reserve" bring one back.
	Disable bool `mapstructure:"disable"`
}

// Defaults of [Config].
const (
	DefaultMode                = ModeRatio
	DefaultWindow              = 10 * time.Second
	DefaultMinRequests         = 20
	DefaultFailureRatio        = 0.5
	DefaultConsecutiveFailures = 5
	DefaultOpenTimeout         = 30 * time.Second
	DefaultHalfOpenMaxRequests = 1
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Mode:                DefaultMode,
		Window:              DefaultWindow,
		MinRequests:         DefaultMinRequests,
		FailureRatio:        DefaultFailureRatio,
		ConsecutiveFailures: DefaultConsecutiveFailures,
		OpenTimeout:         DefaultOpenTimeout,
		HalfOpenMaxRequests: DefaultHalfOpenMaxRequests,
		PerNode:             true,
	}
}

// Section is the configuration key of [Config].
const Section = "middleware.breaker"

// Validate reports the first invalid value of c as a [*config.Error] whose
// key is relative to the section (`commands["inventory.Reserve"].mode`).
// Zero values are valid: they mean the defaults.
func (c Config) Validate() error {
	if err := c.settings().check(); err != nil {
		return err
	}
	return config.Under("commands", c.Commands.Validate(CommandConfig.check))
}

func (e CommandConfig) check() error {
	switch {
	case e.Mode != "" && e.Mode != ModeRatio && e.Mode != ModeConsecutive:
		return config.Errorf("mode", "unknown mode %q (want %s or %s)", e.Mode, ModeRatio, ModeConsecutive)
	case e.Window < 0:
		return config.Errorf("window", "must not be negative, got %s", e.Window)
	case e.FailureRatio < 0 || e.FailureRatio > 1:
		return config.Errorf("failure_ratio", "must be in (0,1], got %v", e.FailureRatio)
	case e.OpenTimeout < 0:
		return config.Errorf("open_timeout", "must not be negative, got %s", e.OpenTimeout)
	}
	return nil
}

// settings returns the Config's own values as a CommandConfig.
func (c Config) settings() CommandConfig {
	return CommandConfig{Mode: c.Mode, Window: c.Window, MinRequests: c.MinRequests, FailureRatio: c.FailureRatio,
		ConsecutiveFailures: c.ConsecutiveFailures, OpenTimeout: c.OpenTimeout, HalfOpenMaxRequests: c.HalfOpenMaxRequests}
}

// over returns e with the non-zero fields of o, and o's Disable.
func (e CommandConfig) over(o CommandConfig) CommandConfig {
	if o.Mode != "" {
		e.Mode = o.Mode
	}
	if o.Window != 0 {
		e.Window = o.Window
	}
	if o.MinRequests != 0 {
		e.MinRequests = o.MinRequests
	}
	if o.FailureRatio != 0 {
		e.FailureRatio = o.FailureRatio
	}
	if o.ConsecutiveFailures != 0 {
		e.ConsecutiveFailures = o.ConsecutiveFailures
	}
	if o.OpenTimeout != 0 {
		e.OpenTimeout = o.OpenTimeout
	}
	if o.HalfOpenMaxRequests != 0 {
		e.HalfOpenMaxRequests = o.HalfOpenMaxRequests
	}
	e.Disable = o.Disable
	return e
}

// For returns the settings of the command name, with the defaults filled
// in, and false when the breaker is disabled for it.
func (c Config) For(name string) (CommandConfig, bool) {
	e := c.settings()
	for o := range c.Commands.Matching(name) {
		e = e.over(o)
	}
	d := DefaultConfig()
	if e.Mode == "" {
		e.Mode = d.Mode
	}
	if e.Window == 0 {
		e.Window = d.Window
	}
	if e.MinRequests == 0 {
		e.MinRequests = d.MinRequests
	}
	if e.FailureRatio == 0 {
		e.FailureRatio = d.FailureRatio
	}
	if e.ConsecutiveFailures == 0 {
		e.ConsecutiveFailures = d.ConsecutiveFailures
	}
	if e.OpenTimeout == 0 {
		e.OpenTimeout = d.OpenTimeout
	}
	if e.HalfOpenMaxRequests == 0 {
		e.HalfOpenMaxRequests = d.HalfOpenMaxRequests
	}
	return e, !e.Disable
}

// Option configures a [Breaker].
type Option interface{ apply(*Breaker) }

type optionFunc func(*Breaker)

func (f optionFunc) apply(b *Breaker) { f(b) }

// WithLogger sets the logger of state changes (warn level). Default: none.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(b *Breaker) {
		if l != nil {
			b.log = l
		}
	})
}

// Breaker is the circuit breaker middleware: it holds one breaker per
// command, and per command and node. It is safe for concurrent use.
type Breaker struct {
	cfg  Config
	log  *zap.Logger
	cmds sync.Map // command name -> *command
}

// New returns the breaker middleware configured by cfg, or the error of
// [Config.Validate] with its key under [Section].
func New(cfg Config, opts ...Option) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	b := &Breaker{cfg: cfg, log: zap.NewNop()}
	for _, o := range opts {
		if o != nil {
			o.apply(b)
		}
	}
	return b, nil
}

type cb = gobreaker.CircuitBreaker[struct{}]

// command is the breaker state of one command.
type command struct {
	name    string
	set     CommandConfig
	perNode bool
	log     *zap.Logger
	cb      *cb
	nodes   sync.Map // node -> *cb
}

func (b *Breaker) command(name string, set CommandConfig) *command {
	if v, ok := b.cmds.Load(name); ok {
		return v.(*command)
	}
	c := &command{name: name, set: set, perNode: b.cfg.PerNode, log: b.log}
	c.cb = c.newBreaker("")
	v, _ := b.cmds.LoadOrStore(name, c)
	return v.(*command)
}

func (c *command) node(node string) *cb {
	if v, ok := c.nodes.Load(node); ok {
		return v.(*cb)
	}
	v, _ := c.nodes.LoadOrStore(node, c.newBreaker(node))
	return v.(*cb)
}

func (c *command) newBreaker(node string) *cb {
	s := c.set
	st := gobreaker.Settings{
		Name:         c.name,
		MaxRequests:  s.HalfOpenMaxRequests,
		Timeout:      s.OpenTimeout,
		IsSuccessful: isSuccessful,
		IsExcluded:   isExcluded,
		OnStateChange: func(name string, from, to gobreaker.State) {
			if ce := c.log.Check(zapcore.WarnLevel, "circuit breaker state changed"); ce != nil {
				ce.Write(zap.String("command", name), zap.String("node", node),
					zap.Stringer("from", from), zap.Stringer("to", to))
			}
		},
	}
	if s.Mode == ModeConsecutive {
		n := s.ConsecutiveFailures
		st.ReadyToTrip = func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= n }
	} else {
		st.Interval, st.BucketPeriod = s.Window, max(s.Window/buckets, 1)
		minReq, ratio := s.MinRequests, s.FailureRatio
		st.ReadyToTrip = func(c gobreaker.Counts) bool {
			n := c.TotalSuccesses + c.TotalFailures
			return n >= minReq && float64(c.TotalFailures) >= ratio*float64(n)
		}
	}
	return gobreaker.NewCircuitBreaker[struct{}](st)
}

// isSuccessful counts everything but server faults as a success.
func isSuccessful(err error) bool { return !errs.KindOf(err).ServerFault() }

// isExcluded leaves calls the caller canceled out of the counts.
func isExcluded(err error) bool {
	return err == errNodeRefused || errs.KindOf(err) == errs.KindCanceled
}

// Wrap returns next guarded by the command's breaker, or nil (nothing added) when
// the breaker is disabled for the command.
func (b *Breaker) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if !spec.Remote && !b.cfg.Local {
		return nil
	}
	set, ok := b.cfg.For(spec.Name)
	if !ok {
		return nil
	}
	cmd := b.command(spec.Name, set)
	return func(ctx context.Context, c *middleware.Call) error {
		var err error
		if c.Node == "" || !cmd.perNode {
			_, berr := cmd.cb.Execute(func() (struct{}, error) {
				err = next(ctx, c)
				return struct{}{}, err
			})
			if berr != nil && err == nil { // the command's breaker refused
				return open(cmd.name, "", berr)
			}
			return err
		}
		// The node is known before the call, as balanced routes set it:
		// its breaker guards the call inside the command's.
		node := c.Node
		nb := cmd.node(node)
		var refused error
		_, berr := cmd.cb.Execute(func() (struct{}, error) {
			_, nerr := nb.Execute(func() (struct{}, error) {
				err = next(ctx, c)
				return struct{}{}, err
			})
			if nerr != nil && err == nil { // the node's breaker refused
				refused = nerr
				return struct{}{}, errNodeRefused // not counted by the command's breaker
			}
			return struct{}{}, err
		})
		switch {
		case refused != nil:
			return open(cmd.name, node, refused)
		case berr != nil && err == nil: // the command's breaker refused
			return open(cmd.name, "", berr)
		}
		return err
	}
}

// errNodeRefused tells the command's breaker that a node's breaker refused
// the call; it is excluded from the command's counts.
var errNodeRefused = errors.New("breaker: node refused")

// open returns ErrOpen for the command name on node. Both are internal
// parameters: they reach the logs, never a client's error body.
func open(name, node string, cause error) error {
	params := []errs.Param{errs.InternalParam("command", name)}
	if node != "" {
		params = append(params, errs.InternalParam("node", node))
	}
	return ErrOpen.Wrap(cause, params...)
}

// State returns the state of the breaker of the command name
// ("inventory.Reserve"), or of the command on node when node is not empty,
// and false when there is no such breaker (yet). Balancers may use it to
// pick nodes whose breaker is not open.
func (b *Breaker) State(name, node string) (gobreaker.State, bool) {
	v, ok := b.cmds.Load(name)
	if !ok {
		return gobreaker.StateClosed, false
	}
	c := v.(*command)
	if node == "" {
		return c.cb.State(), true
	}
	n, ok := c.nodes.Load(node)
	if !ok {
		return gobreaker.StateClosed, false
	}
	return n.(*cb).State(), true
}

// IsOpen reports whether err says that a breaker refused the call.
func IsOpen(err error) bool { return errors.Is(err, ErrOpen) }

var _ middleware.Middleware = (*Breaker)(nil)
