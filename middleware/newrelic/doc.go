// Package newrelic reports WeGO calls to New Relic with the Go agent
// (github.com/newrelic/go-agent/v3/newrelic): a transaction per served
// call, named after the command, and an external segment per remote call
// made, with distributed tracing across the HTTP transport.
//
// # What it records
//
// On the server side (the chain where the command runs), each call is a
// transaction named after the command: "OtherTransaction/Go/inventory.Reserve"
// for a local or background call, or, when the HTTP transport has already
// started a web transaction for the request ([HTTPServerMiddleware]), that
// transaction renamed to "WebTransaction/Go/inventory.Reserve". The
// transaction carries the attributes request_id (from package log) and
// outcome ("ok" or the error's code); errors whose kind is a server fault
// (internal, unavailable, deadline exceeded) are noticed as errors, with the
// code as their class, while client mistakes are not. The transaction is in
// the command's context (newrelic.FromContext), so the command can add
// segments and attributes. A command called locally from another command
// is a segment of the caller's transaction, not a transaction of its own.
//
// On the client side, a call with a remote route made while the context
// holds a transaction is an external segment: host the node, procedure the
// command, library "wego". The node must be known when the client chain
// runs ([middleware.Call.Node] set on entry), as it is for routes that
// pick among nodes (catalog.Balancer). Local calls add nothing on the
// client side: the server side records them.
//
// # HTTP
//
// [HTTPServerMiddleware] starts a web transaction per HTTP request and
// accepts the distributed-tracing headers of the caller; [InjectHeaders]
// adds this process's headers to an outgoing request. The HTTP transport
// calls both when it is given the application.
//
// # Off costs nothing
//
// With no license key, or enabled false, no agent application is created
// ([NewApplication] returns nil, nil), [Middleware.Wrap] returns the next
// handler unchanged and [HTTPServerMiddleware] returns the handler
// unchanged: the middleware costs nothing per call.
//
// # Configuration
//
// Section "middleware.newrelic":
//
//	enabled              bool    true   report at all (also needs license_key)
//	license_key          string  ""     the New Relic license key; empty: off
//	app_name             string  ""     the application's name in New Relic; required when on
//	distributed_tracing  bool    true   distributed tracing and span events
//	log_level            string  "info" agent logs written to the zap logger:
//	                                    off, error, warn, info or debug
//	commands             map     {}     per "service.Operation", "service.*" or "*":
//	                                    {enabled: false} records nothing for those
//	                                    commands, {enabled: true} records them again;
//	                                    the most specific entry wins
//
// For example:
//
//	middleware:
//	  newrelic:
//	    app_name: orders
//	    commands:
//	      health.*: {enabled: false}
//	      inventory.*: {enabled: false}
//	      inventory.Reserve: {enabled: true}
//
// Keys match command names without regard to case, since the
// configuration loader lower-cases them.
//
// The license key is a secret: set it with the environment variable
// WEGO_MIDDLEWARE_NEWRELIC_LICENSE_KEY rather than in a file.
package newrelic
