// Package retry is a client-side middleware that calls an idempotent
// command again when it fails with a transient error, with exponential
// backoff and full jitter, within the caller's deadline and a retry
// budget.
//
// Use it in the client chain outside the breaker (so that each attempt
// counts) and inside the timeout when that should bound all attempts
// together:
//
//	r, err := retry.New(cfg) // cfg from the section middleware.retry
//	cat.UseClientSide(timeoutMW, r, breakerMW)
//
// # Which commands
//
// Only idempotent commands are retried: calling them twice must do no
// more than calling them once. A command says so at registration with the
// [Idempotent] attribute, or the configuration says so with an entry
// (idempotent: true) for the command or its service; disable: true turns
// retries off. For other commands the middleware returns the command's
// handler unchanged and costs nothing per call.
//
// # When and how long
//
// Only transient errors ([errs.Kind.Transient]: kind unavailable) are
// retried, except "circuit_open": a breaker that refuses calls will
// refuse them again within the backoff. Before attempt n+1 the middleware
// waits a random time between 0 and min(max_delay, base_delay·2ⁿ⁻¹)
// ("full jitter"). It never waits past the caller's deadline: when the
// wait would end after it, the last error is returned at once. When the
// caller's context is canceled during a wait, the last error is returned.
//
// # Retry budget
//
// A full outage must not multiply traffic by max_attempts. Each command has
// a budget, a token bucket: every call adds budget.ratio tokens, the
// bucket also fills by budget.min_per_second tokens per second, and each
// retry takes one token; without a token the last error is returned. The
// bucket holds at most ten seconds of the floor (at least one token) and
// starts with one second of it. So retries add at most ratio × calls plus
// min_per_second per second to the traffic.
//
// # Configuration (section middleware.retry)
//
//	max_attempts            3       attempts in all, the first included (1: no retry)
//	base_delay              50ms    backoff before the second attempt, at most
//	max_delay               1s      cap of the backoff
//	budget.ratio            0.1     tokens each call earns, in (0,1]
//	budget.min_per_second   10      tokens earned per second regardless of traffic
//	commands.<pattern>      -       per-command entry; the pattern is
//	                                "service.Operation", "service.*" or "*":
//	  idempotent            false   retry these commands
//	  disable               false   never retry these commands
//	  max_attempts, base_delay, max_delay   overrides (0 inherits)
//
// For example:
//
//	middleware:
//	  retry:
//	    max_attempts: 3
//	    commands:
//	      inventory.Reserve: {idempotent: true, max_attempts: 5}
//	      inventory.*: {base_delay: 100ms}
//	      billing.*: {disable: true}
//
// Entries apply from the least specific to the most specific, each
// overriding what it sets, above the Config and the [Idempotent]
// attribute. Keys match command names without regard to case, since the
// configuration loader lower-cases them.
//
// # Calls are retried in place
//
// A retry calls the next handler again with the same [middleware.Call]:
// the request is unchanged, and a command writes the response only when it
// succeeds.
package retry
