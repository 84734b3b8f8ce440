package timeout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// CompleteKey is the attribute set by [RunToCompletion]: its value is the
// command's own budget (zero: none of its own, the server's applies).
var CompleteKey = middleware.NewKey[time.Duration]("timeout.run_to_completion")

// RunToCompletion returns the attribute of a command that changes state:
// once its server side has started it, it runs to completion within
// budget, whatever its caller does — a client that disconnects or whose
// deadline passes does not cut it half-way. Without it a command stops
// when its caller goes away, which suits reads.
//
//	catalog.Register("orders.Place", place, catalog.With(timeout.RunToCompletion(10*time.Second)))
//
// The [Deadline] middleware in the server chain applies it: it runs the
// command on a context detached from the caller's cancellation and
// deadline (its values, such as the request id and the logger, are kept),
// with a deadline at budget, or at the server's own deadline when that is
// sooner (see [WithServerDeadline]; over HTTP, http.command_timeout). A
// budget of zero or less means no budget of its own.
func RunToCompletion(budget time.Duration) middleware.Attr {
	return CompleteKey.Value(max(budget, 0))
}

type serverDeadlineKey struct{}

// WithServerDeadline returns a copy of ctx that carries t, the time by
// which the server that received the call must have its answer: a
// transport sets it from its configured budget, so that a command that
// runs to completion, detached from its caller, still ends in time for
// its answer to be written. The earlier of t and a server deadline ctx
// carries already wins.
func WithServerDeadline(ctx context.Context, t time.Time) context.Context {
	if prev, ok := ServerDeadline(ctx); ok && !t.Before(prev) {
		return ctx
	}
	return context.WithValue(ctx, serverDeadlineKey{}, t)
}

// ServerDeadline returns the server deadline that ctx carries, if any (see
// [WithServerDeadline]).
func ServerDeadline(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(serverDeadlineKey{}).(time.Time)
	return t, ok
}

// DeadlineConfig configures the [Deadline] middleware, from the section
// middleware.deadline. The zero DeadlineConfig keeps each command's
// attributes.
type DeadlineConfig struct {
	// Commands holds per-command entries, keyed by a command name
	// ("orders.Place"), a service ("orders.*") or "*" (every command);
	// keys match without regard to case. Default none.
	Commands middleware.PerCommand[DeadlineCommand] `mapstructure:"commands"`
}

// DeadlineCommand is an entry of [DeadlineConfig.Commands]. Unset fields
// inherit from less specific entries, then from the command's attributes.
type DeadlineCommand struct {
	// RunToCompletion, when set, says whether the commands run to
	// completion (true) or stop when their caller goes away (false),
	// whatever their [RunToCompletion] attribute says.
	RunToCompletion *bool `mapstructure:"run_to_completion"`
	// Budget is the commands' own time limit on the server side: a command
	// that runs to completion gets it instead of its attribute's; another
	// one stops at its caller's deadline or after Budget, whichever comes
	// first. Zero inherits.
	Budget time.Duration `mapstructure:"budget"`
}

// DefaultDeadlineConfig returns the defaults: every command as its
// attributes say.
func DefaultDeadlineConfig() DeadlineConfig { return DeadlineConfig{} }

// DeadlineSection is the configuration key of [DeadlineConfig].
const DeadlineSection = "middleware.deadline"

// Validate reports the first invalid value of c as a [*config.Error] whose
// key is relative to the section (`commands["orders.Place"].budget`).
func (c DeadlineConfig) Validate() error {
	return config.Under("commands", c.Commands.Validate(func(e DeadlineCommand) error {
		if e.Budget < 0 {
			return config.Errorf("budget", "must not be negative, got %s", e.Budget)
		}
		return nil
	}))
}

// Policy is what the server side does with the time of one command.
type Policy struct {
	// Complete is true for a command that runs to completion once
	// started (see [RunToCompletion]).
	Complete bool
	// Budget is the command's own time limit, zero for none.
	Budget time.Duration
}

// For returns the policy of the command described by spec under c: its
// [RunToCompletion] attribute, overridden by the entries of c.Commands
// from the least specific to the most specific.
func (c DeadlineConfig) For(spec *middleware.Spec) Policy {
	var p Policy
	p.Budget, p.Complete = CompleteKey.Get(spec.Attributes)
	for e := range c.Commands.Matching(spec.Name) {
		if e.RunToCompletion != nil {
			p.Complete = *e.RunToCompletion
		}
		if e.Budget > 0 {
			p.Budget = e.Budget
		}
	}
	return p
}

type deadline struct{ cfg DeadlineConfig }

// Deadline returns the server-side middleware of time budgets, or the error
// of [DeadlineConfig.Validate] with its key under [DeadlineSection]. Put it
// at the start of the server chain, inside logging (fw's default chain
// names it "deadline"). For each call it
//
//   - refuses a call whose deadline has passed or whose caller has gone
//     already, with an errs error of kind DeadlineExceeded (HTTP 504) or
//     Canceled, before anything inside it runs;
//   - runs a command that runs to completion (see [RunToCompletion]) on a
//     context detached from the caller, with the command's own budget,
//     capped by the server deadline (see [WithServerDeadline]);
//   - gives any other command with a budget (see [DeadlineCommand]) the
//     earlier of its caller's deadline and its budget.
//
// When a deadline set here fires and the call fails, the error is of kind
// DeadlineExceeded (code "deadline_exceeded"), wrapping what the command
// returned. In a client chain it adds nothing (Wrap returns nil).
func Deadline(cfg DeadlineConfig) (middleware.Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(DeadlineSection, err)
	}
	return &deadline{cfg: cfg}, nil
}

// Wrap returns next behind the checks and the command's budget.
func (m *deadline) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if spec.Side != middleware.ServerSide {
		return nil // a server-side middleware: nothing to do in a client chain
	}
	p := m.cfg.For(spec)
	switch {
	case p.Complete:
		return func(ctx context.Context, c *middleware.Call) error {
			if err := gone(ctx); err != nil {
				return err
			}
			dctx, cancel, d := detach(ctx, p.Budget)
			err := next(dctx, c)
			if err != nil && errors.Is(dctx.Err(), context.DeadlineExceeded) {
				err = deadlineExceeded(err, d)
			}
			cancel()
			return err
		}
	case p.Budget > 0:
		return func(ctx context.Context, c *middleware.Call) error {
			if err := gone(ctx); err != nil {
				return err
			}
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= p.Budget {
				return next(ctx, c)
			}
			tctx, cancel := context.WithTimeout(ctx, p.Budget)
			err := next(tctx, c)
			if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
				err = deadlineExceeded(err, p.Budget)
			}
			cancel()
			return err
		}
	default:
		return func(ctx context.Context, c *middleware.Call) error {
			if err := gone(ctx); err != nil {
				return err
			}
			return next(ctx, c)
		}
	}
}

// gone returns the error of a call that must not start: its deadline has
// passed, or its caller has left.
func gone(ctx context.Context) error {
	// Err, not Done: asking for Done would make the timer of a lazy
	// budget (WithServerBudget) for a command that never blocks.
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errs.DeadlineExceeded().WithCause(fmt.Errorf("not started: %w", err))
	}
	return errs.Canceled().WithCause(fmt.Errorf("not started: %w", err))
}

// detach returns a context with ctx's values, without its cancellation and
// deadline, that ends at budget from now or at the server deadline of ctx,
// whichever comes first (never, when there is neither), and the time it
// gives.
func detach(ctx context.Context, budget time.Duration) (context.Context, context.CancelFunc, time.Duration) {
	d := context.WithoutCancel(ctx)
	now := time.Now()
	var dl time.Time
	if budget > 0 {
		dl = now.Add(budget)
	}
	if sd, ok := ServerDeadline(ctx); ok && (dl.IsZero() || sd.Before(dl)) {
		dl = sd
	}
	if dl.IsZero() {
		return d, func() {}, 0
	}
	dctx, cancel := context.WithDeadline(d, dl)
	return dctx, cancel, dl.Sub(now).Round(time.Millisecond)
}
