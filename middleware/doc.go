// Package middleware defines what both sides of a WeGO call share: the
// [Call] that travels through a chain, the [Handler] that serves it, the
// [Middleware] that wraps a handler, and the typed [Key] attributes that
// describe a command.
//
// Every call of a command passes through two chains. The client chain runs
// in the caller's process (timeout, retry, breaker, cache, ...); the server
// chain runs where the command runs (recovery, request id, logging, audit,
// ...). One Middleware type serves both; the [Spec] that Wrap receives says
// which side ([Spec.Side]) and which kind of command ([Spec.Kind]) the
// chain is for. For a local call the client chain's last handler calls the server
// chain directly; for a remote route it calls a transport client, and the
// server chain runs in the other process:
//
//	caller ─▶ client mw 1 ─▶ … ─▶ client mw n ─▶ route
//	            route = local:  server mw 1 ─▶ … ─▶ server mw n ─▶ function
//	            route = remote: transport client ══ network ══▶ server chain ─▶ function
//
// # Chains are built once
//
// A Middleware is asked to [Middleware.Wrap] a handler once per command and
// side, when the command is registered or a chain is configured, and gets
// the command's [Spec] then. It can read the command's attributes at that
// moment and return nil when it has nothing to do for the command and side
// (a cache for a command that is not cacheable), so it costs nothing per
// call; a command whose chains add nothing is called directly. Per call,
// only the handlers it returned run.
//
// # Per-command settings
//
// A middleware's configuration section may hold entries for some commands,
// keyed by [Pattern] ("orders.Place", "orders.*", "*") in a [PerCommand]:
// it checks the keys, and yields the entries that select a command from the
// least specific to the most specific, once per command in Wrap.
//
// # Streams fail closed
//
// Streaming commands (a [Kind] other than [Unary]) are composed by
// [BuildStream], which takes a middleware only if it implements
// [StreamMiddleware] or says it has nothing to do for streams
// ([UnaryOnly]); any other middleware in a streaming chain is an error, so
// that nothing meant to guard a command silently skips its streams.
//
// # Calls are pooled
//
// To keep calls free of allocations, a *Call and the request and response
// it points to are recycled when the call returns. A middleware must not
// keep a *Call, its Request or its Response after its handler returns, nor
// use them from another goroutine after that: copy what it needs (a cache
// copies the response value). This package lives below the catalog and
// the transports and imports neither.
package middleware
