package fw

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/timeout"
)

// checkBudgets fails New on time budgets that cannot hold for the local
// commands that run to completion (timeout.RunToCompletion, or
// middleware.deadline): a server chain without the deadline middleware,
// which would let their callers cut them half-way, and a budget longer
// than the shutdown timeout, which a graceful stop would cut. Chains that
// the Chains option set are the program's own business.
func (a *App) checkBudgets() error {
	if a.opts.chainsSet {
		return nil
	}
	cfg, err := config.GetWithDefaults(a.cfg, "middleware.deadline", timeout.DefaultDeadlineConfig())
	if err != nil {
		return err
	}
	guarded := slices.Contains(a.serverChain, "deadline")
	var unguarded, tooLong []string
	for _, e := range a.cat.Commands() {
		if !e.Local() || e.Routed() {
			continue // its function runs elsewhere, or nowhere
		}
		p := cfg.For(e.Spec())
		if !p.Complete {
			continue
		}
		if !guarded {
			unguarded = append(unguarded, e.Spec().Name)
		}
		if p.Budget > a.shutdown {
			tooLong = append(tooLong, fmt.Sprintf("%s (%s)", e.Spec().Name, p.Budget))
		}
	}
	if len(unguarded) > 0 {
		return &config.Error{Key: "middleware.server", File: a.cfg.File(), Err: fmt.Errorf(
			"commands %s run to completion (timeout.RunToCompletion) but the server chain has no deadline middleware, so their callers could cut them half-way: add deadline after logging",
			strings.Join(unguarded, ", "))}
	}
	if len(tooLong) > 0 {
		return &config.Error{Key: "app.shutdown_timeout", File: a.cfg.File(), Err: fmt.Errorf(
			"%s is shorter than the budget of commands that run to completion, which a graceful stop would cut: %s",
			a.shutdown, strings.Join(tooLong, ", "))}
	}
	return nil
}
