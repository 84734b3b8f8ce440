// Package timeout is a client-side middleware that gives each call of a
// command a deadline, so that a caller that set none (or a generous one)
// does not wait forever on a slow dependency.
//
// Use it in the client chain, outermost or just inside retry (a deadline
// outside retry bounds all attempts together; inside, each attempt):
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
// No context is created in that case (context.WithTimeout costs about
// 0.6 µs and four allocations).
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
package timeout
