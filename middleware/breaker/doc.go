// Package breaker is a client-side circuit breaker middleware built on
// github.com/sony/gobreaker/v2. When a command's calls keep failing on the
// serving side, the breaker opens and calls fail at once, without reaching
// the route, so that a struggling dependency gets room to recover and
// callers do not pile up waiting for it.
//
// Use it in the client chain, inside retry (each attempt counts) and
// outside the route:
//
//	b, err := breaker.New(cfg, breaker.WithLogger(logger)) // cfg from middleware.breaker
//	cat.UseClientSide(timeoutMW, retryMW, b)
//
// # One breaker per command, and per node
//
// Each command gets its own breaker, created when its chain is built and
// kept across rebuilds. A route that spreads calls over several nodes (a
// catalog.Balancer) picks the node before the client chain runs and puts
// it in [middleware.Call.Node]; the breaker then also keeps one breaker per
// command and node, created on first use, which guards the call inside
// the command's: while a node's breaker is open, calls sent to that node
// fail at once (without reaching the route) and are not counted by the
// command's breaker, so one bad node does not open the command for the
// others. A balancer may ask [Breaker.State] to avoid such nodes. Calls
// without a node on entry (local routes, routes with a single address) are
// counted by the command's breaker only.
//
// # What counts
//
// Only server faults count as failures: errors of kind internal,
// unavailable and deadline exceeded ([errs.Kind.ServerFault]). Client
// mistakes (invalid argument, not found, conflict, ...) count as
// successes: the dependency answered. Cancellation by the caller
// (context.Canceled, kind canceled) is not counted at all.
//
// # When it trips
//
// In the default mode, "ratio", the breaker opens when, over the rolling
// window, at least min_requests calls were counted and the share of
// failures is at least failure_ratio. The window is split into 10 buckets
// that expire one by one. gobreaker's own default (more than 5
// consecutive failures) never opens on a dependency that fails every
// other call; this one does. Mode "consecutive" opens after
// consecutive_failures failures in a row instead.
//
// After open_timeout the breaker lets half_open_max_requests calls
// through (half-open); if they succeed it closes, if one fails it opens
// again. While open, calls fail with an errs error of code "circuit_open"
// ([ErrOpen]), kind unavailable (HTTP 503). State changes are logged at
// warn level with the command, the node, and the states.
//
// # Configuration (section middleware.breaker)
//
//	mode                      ratio    "ratio" or "consecutive"
//	window                    10s      rolling window of the ratio mode
//	min_requests              20       calls in the window before the ratio counts
//	failure_ratio             0.5      share of failures that opens, in (0,1]
//	consecutive_failures      5        failures in a row that open ("consecutive")
//	open_timeout              30s      time open before trying again
//	half_open_max_requests    1        calls let through when half-open
//	per_node                  true     also keep one breaker per node
//	commands.<pattern>        -        per-command entry; the pattern is
//	                                   "service.Operation", "service.*" or "*":
//	                                   the keys above but per_node (zero
//	                                   inherits), and disable
//
// For example:
//
//	middleware:
//	  breaker:
//	    min_requests: 20
//	    commands:
//	      inventory.Reserve: {failure_ratio: 0.2}
//	      inventory.*: {min_requests: 50}
//	      reports.*: {disable: true}
//
// An entry's zero fields inherit from the less specific entries, then from
// the top level; disable comes from the most specific entry. Keys match
// command names without regard to case, since the configuration loader
// lower-cases them.
package breaker
