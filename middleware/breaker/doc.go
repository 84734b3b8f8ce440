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
//	cat.UseClient(timeoutMW, retryMW, b)
//
// # One breaker per command, and per node
//
// Each command gets its own breaker, created when its chain is built and
// kept across rebuilds. A remote route sets [middleware.Call.Node] to the
// node that served the call; the outcome then also counts for a breaker of
// that command and node, created on first use. Because the route picks the
// node after the breaker has run, a node's breaker rejects calls only when
// the node is known beforehand (an earlier middleware or the caller set
// Call.Node); routes and balancers that pick nodes ask [Breaker.State] to
// skip nodes whose breaker is open.
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
//	per_node                  true     also keep one breaker per remote node
//	commands.<service>.<Operation> or commands.<service>."*":
//	                                   the same keys (zero inherits) and
//	                                   disable (no breaker for these commands)
//
// The configuration loader splits dotted keys and lowers their case, so
// per-command entries form a two-level map (service, then operation or
// "*"), matched without regard to case.
package breaker
