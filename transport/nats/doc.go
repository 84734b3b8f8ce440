// Package natstransport serves a catalog's commands over NATS and calls
// commands that run elsewhere through NATS, with the connection of the
// application's engine (package engine).
//
// A [Server] serves each local command on the subject of its name
// ("inventory.Reserve"), in the queue group of its service ("inventory"):
// any number of replicas share the load with no configuration, and a
// caller needs no address. It serves through NATS's service API
// (nats.go/micro), so each service answers $SRV.PING, $SRV.INFO and
// $SRV.STATS and the nats CLI finds and calls it:
//
//	nats micro list
//	nats req inventory.Reserve '{"sku":"apple","qty":1}'
//
// Topics and subscribers of package events are not commands: they are
// neither served nor listed as endpoints.
//
// Requests and answers carry what HTTP headers carry, as NATS headers:
// X-Request-Id, Content-Type (JSON; a request without one is taken as
// JSON), X-Wego-Timeout (the caller's time left, in milliseconds),
// X-Wego-Deadline (the caller's deadline: a request that arrives past it
// is not run), Idempotency-Key and the propagators' headers (distributed
// tracing). A failed call is answered with NATS's service-error headers —
// Nats-Service-Error, the error's code, and Nats-Service-Error-Code, its
// status in HTTP's terms — and WeGO's JSON error body, so that the same
// typed error comes back on the calling side.
//
// A [Route] sends calls over NATS; configuration makes one with a
// "nats://<service>" target:
//
//	routes:
//	  inventory.*: nats://inventory
//
// A subject nobody serves fails at once with transport.unavailable; an
// ended deadline with deadline_exceeded.
//
// Importing the package registers the engine "nats", which an application
// whose configuration has a nats section makes and starts, and the route
// factory of the "nats" scheme.
package natstransport
