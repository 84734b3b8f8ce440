// Package timeout bounds the time of calls on both sides. On the client
// side, [New] gives each call of a command a deadline, so that a caller
// that set none (or a generous one) does not wait forever on a slow
// dependency. On the server side, [Deadline] refuses calls that must not
// start and runs the commands that change state to completion (see
// [RunToCompletion] and "The server side" below).
//
// Use [New] in the client chain, outermost or just inside retry (a
// deadline outside retry bounds all attempts together; inside, each
// attempt):
//
//	mw, err := timeout.New(cfg) // cfg from the section middleware.timeout
//	cat.UseClientSide(mw)
//
// # Which timeout applies
//
// For each command, once, when its chain is built, the timeout is the
// first of:
//
//  1. the config entry for the command ("inventory.Reserve"),
//  2. the config entry for its service ("inventory.*"),
//  3. the config entry for every command ("*"),
//  4. the command's [Key] attribute, set at registration,
//  5. the config's default.
//
// An entry with disable: true, or a resulting timeout of zero, means no
// timeout: the middleware then returns the command's handler unchanged
// and costs nothing per call.
//
// # Only when it is shorter
//
// Per call, the timeout is applied only when it ends before the caller's
// own deadline; otherwise the call runs in the caller's context as it is.
// No context is created in that case, because context.WithTimeout
// allocates on every call.
//
// The deadline is cooperative: the command, or the transport of a remote
// route, must watch its context. When the deadline set here fires and the
// call fails, the caller gets an errs error of kind DeadlineExceeded (code
// "deadline_exceeded") that wraps what the command returned.
//
// # Configuration (section middleware.timeout)
//
//	default              0 (none)   timeout of every command
//	commands.<pattern>   -          per-command entry; the pattern is
//	                                "service.Operation", "service.*" or "*"
//	  timeout            0          the timeout (0: inherit)
//	  disable            false      no timeout for these commands
//
// For example:
//
//	middleware:
//	  timeout:
//	    default: 5s
//	    commands:
//	      inventory.Reserve: {timeout: 1s}
//	      inventory.*: {timeout: 2s}
//	      reports.*: {disable: true}
//
// Keys match command names without regard to case, since the
// configuration loader lower-cases them.
//
// # The server side
//
// A command that changes state declares, where it is registered, that
// once started it runs to completion within its own budget, whatever its
// caller does:
//
//	catalog.Register("orders.Place", place, catalog.With(timeout.RunToCompletion(10*time.Second)))
//
// Other commands (reads) stop when their caller goes away. [Deadline], at
// the start of the server chain (fw's default chain names it "deadline"),
// applies the choice per call:
//
//   - a call whose deadline has passed, or whose caller has gone (an HTTP
//     client that closed its connection), is refused with an errs error
//     of kind DeadlineExceeded or Canceled, and nothing inside runs;
//   - a command that runs to completion gets a context detached from its
//     caller (context.WithoutCancel: its values, such as the request id,
//     the logger and a test's catalog, are kept), that ends at its budget
//     or at the server deadline, whichever comes first. A transport sets
//     the server deadline ([WithServerBudget], [WithServerDeadline]) from
//     its configuration (http.command_timeout), so that a detached
//     command still ends in time for its answer to be written.
//
// Once started, nothing cancels such a command but its budget; a step it
// cannot complete is its own to undo, on that same detached context (the
// example mesh's orders releases a reservation it could not turn into an
// order).
//
// Configuration (section middleware.deadline) may override the attribute:
//
//	middleware:
//	  deadline:
//	    commands:
//	      orders.Place: {run_to_completion: true, budget: 5s}
//	      reports.*: {budget: 1m}   # a server-side limit for reads
package timeout
