// Package ratelimit is the rate limit and bulkhead middleware: it rejects
// the calls of a command that exceed a rate (a token bucket from
// golang.org/x/time/rate) or a number of calls in flight (a bulkhead), at
// once, with a resource-exhausted error (code "resource_exhausted", HTTP
// 429).
//
// Excess calls are never queued: a call either gets a token and a slot and
// runs, or fails in a few nanoseconds without allocating, so an overloaded
// service sheds load instead of piling up goroutines. Callers that want to
// wait should retry with backoff.
//
// # When to use it
//
// In the server chain, early (after recovery and logging), to protect a
// service from more traffic than it can take. In a client chain it limits
// what this process sends to a command, which protects a fragile
// dependency. Use one [Limiter] per side: a limiter in both chains of a
// local command would count each call twice.
//
// # Limits are per command
//
// Every command has its own bucket and its own bulkhead: the top-level
// settings are the limits of each command, not a total. A "service.*" entry
// gives each command of the service those limits. Each setting of a
// per-command entry overrides the inherited one, the most specific entry
// winning ("service.Operation", then "service.*", then "*", then the top
// level); settings it leaves out are inherited. The state of a command's
// limits lives in the Limiter, so rebuilding the chains (when the catalog
// is reconfigured) keeps counting.
//
// # Configuration
//
// Section "middleware.ratelimit":
//
//	rate            float  0   tokens per second for each command; 0: no rate limit
//	burst           int    0   bucket size; 0: the rate rounded up, at least 1
//	max_concurrent  int    0   calls in flight for each command; 0: no limit
//	commands        map    {}  per command: {rate, burst, max_concurrent}
//
// For example:
//
//	middleware:
//	  ratelimit:
//	    max_concurrent: 200
//	    commands:
//	      inventory.Reserve: {rate: 5}
//	      inventory.*: {rate: 50, burst: 100}
//	      reports.*: {max_concurrent: 2}
//
// Keys match command names without regard to case, since the
// configuration loader lower-cases them.
//
// A command with neither a rate nor a concurrency limit is not wrapped and
// costs nothing.
package ratelimit
