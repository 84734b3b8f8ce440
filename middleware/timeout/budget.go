package timeout

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// WithServerBudget returns a copy of parent for a call that a server
// received: it ends at caller (the caller's deadline, such as the one of
// X-Wego-Timeout) or at server (the server's own budget for the call),
// whichever comes first, and carries server as the server deadline (see
// [WithServerDeadline]), so that a command that runs to completion,
// detached from its caller, still ends at server. A zero time is no
// deadline; with both zero, parent is returned with a cancel function that
// does nothing.
//
// It behaves as context.WithDeadline, but sets no timer until something
// waits on its Done channel or derives a context that may be canceled
// from it: a command that never blocks pays nothing for its budget. Err
// reports the deadline once it has passed, whether or not Done was asked
// for. Call the cancel function when the call ends, as with
// context.WithDeadline.
func WithServerBudget(parent context.Context, server, caller time.Time) (context.Context, context.CancelFunc) {
	end := server
	if end.IsZero() || !caller.IsZero() && caller.Before(end) {
		end = caller
	}
	if end.IsZero() {
		return parent, func() {}
	}
	if prev, ok := ServerDeadline(parent); ok && !server.IsZero() && prev.Before(server) {
		server = prev
	}
	c := &budgetCtx{Context: parent, server: server, end: end}
	return c, c.stop
}

// budgetCtx is the context of WithServerBudget: a deadline at end whose
// timer (a context.WithDeadline child of the parent) is made on first use,
// and the server deadline, zero for none.
type budgetCtx struct {
	context.Context // the parent
	server, end     time.Time

	live    atomic.Pointer[context.Context] // the timed child, once made
	mu      sync.Mutex                      // making it, stopping
	cancel  context.CancelFunc              // the child's
	stopped bool                            // the budget's cancel was called
}

// timed returns the child that carries the timer, making it on first use.
func (c *budgetCtx) timed() context.Context {
	if p := c.live.Load(); p != nil {
		return *p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.live.Load(); p != nil {
		return *p
	}
	child, cancel := context.WithDeadline(c.Context, c.end)
	if c.stopped {
		cancel()
	}
	c.cancel = cancel
	c.live.Store(&child)
	return child
}

func (c *budgetCtx) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.cancel != nil {
		c.cancel()
	}
}

// Deadline returns the earlier of end and the parent's deadline.
func (c *budgetCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.end) {
		return d, true
	}
	return c.end, true
}

// Done makes the timer, if not made yet, and returns its channel.
func (c *budgetCtx) Done() <-chan struct{} { return c.timed().Done() }

// Err returns nil while the parent is live, the budget has not been
// canceled and its deadline has not passed, without making the timer;
// otherwise the error of the timed child, whose Done is then closed.
func (c *budgetCtx) Err() error {
	if p := c.live.Load(); p != nil {
		return (*p).Err()
	}
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if !stopped && c.Context.Err() == nil && time.Now().Before(c.end) {
		return nil
	}
	return c.timed().Err()
}

// Value answers the server deadline, when there is one; for every other
// key it asks the timed child once made (so that contexts derived from
// this one join the child's cancellation without a goroutine), the parent
// before.
func (c *budgetCtx) Value(key any) any {
	if _, ok := key.(serverDeadlineKey); ok && !c.server.IsZero() {
		return c.server
	}
	if p := c.live.Load(); p != nil {
		return (*p).Value(key)
	}
	return c.Context.Value(key)
}

func (c *budgetCtx) String() string {
	return "timeout.WithServerBudget(" + c.end.String() + ")"
}
