// Package catalog is WeGO's command catalog: the registry of every command
// and provided dependency of a program, with the two middleware chains
// every call goes through and the routes that decide where a command runs.
//
// # Commands
//
// A command is a typed function registered under a name "service.Operation",
// usually from a package-level variable, which runs at init time:
//
//	var Reserve = catalog.Register("inventory.Reserve", reserve)
//
//	func reserve(ctx context.Context, req ReserveRequest) (ReserveResponse, error) { ... }
//
// Register returns a typed handle, a *[Command]; its Call is the fast path.
// Transports, tools and dynamic callers call by name instead ([Call],
// [Catalog.Call]) or through the untyped [Entry]. Registration only records:
// init functions do no I/O, which waits for the application to run.
//
// # Chains and routes
//
// Each call goes through the catalog's global client chain, the command's own
// client middleware, then its route: local (the global server chain, the
// command's own server middleware, the function) or remote (a [Route] that
// a transport client supplies, configured with [Catalog.SetRoute]). Caller
// code is the same either way. The order, outermost first:
//
//	client: global client chain ─▶ command's ClientSide(...) ─▶ route
//	server: global server chain ─▶ command's ServerSide(...) ─▶ function
//
// Handlers are composed when a command is registered or the catalog is
// configured, never per call. A typed call of a local command with empty
// chains is a direct call of its function; other calls take a pooled
// [middleware.Call], so the call path has no locks, no map writes, no
// reflection and no allocations of its own.
//
// # Declared commands
//
// A service's API package can [Declare] its commands (types and attributes,
// no function) so that other deployables import only the API and reach the
// service through a remote route; the service registers the functions
// under the same names. Calling a declared command that has neither a
// function nor a route gives an error with code "wego.no_route".
//
// # Dependencies
//
// Anything commands need — a repository, a client, settings — is provided
// by name ([Provide]) and resolved typed ([Dependency.Get]), so tests can
// swap it like a command.
//
// # Tests
//
// [Replace] and [ReplaceDep] swap a command or a dependency for a fake and
// return an undo; holders of the typed handle see the fake. Package
// catalogtest gives each test an isolated copy of the catalog, carried by a
// context ([NewContext]) so that tests can run in parallel, and undoes
// replacements when the test ends.
//
// # Errors
//
// Registration mistakes (malformed or duplicate names, nil functions,
// conflicting types) are *[RegistrationError]s naming the sites involved;
// the init-time functions [Register], [Declare] and [Provide] panic with
// them, and [RegisterIn], [DeclareIn] and [ProvideIn] return them. Call-time
// mistakes are errs errors with stable codes ([ErrUnknownCommand],
// [ErrWrongType], [ErrNoRoute], [ErrUnknownDependency]); a call never
// panics on bad input.
package catalog
