// Package logging is the middleware that writes one structured zap line
// per call of a command: its name, the side it ran on, how long it took,
// its outcome and the request id, and optionally its request and response
// with secret fields redacted.
//
// Use it in the server chain, after recovery and requestid, so that panics
// are logged as errors and every line has an id; use it in the client chain
// too to log remote calls from the caller's side, with the node that
// served them:
//
//	{"level":"warn","msg":"call","command":"inventory.Reserve","side":"server",
//	 "duration":0.000412,"code":"inventory.unknown_sku","request_id":"…",
//	 "error":"inventory.unknown_sku: SKU x is unknown"}
//
// # Levels
//
// A call that succeeded is logged at success_level (debug by default, so
// that production logs at info carry only failures). A failure is logged
// at warn when it is the caller's doing (invalid argument, not found,
// permission denied, canceled, …) and at error when it is the server's
// (internal, unavailable, deadline exceeded) or of unknown kind; its code is
// [errs.CodeOf] of the error, and the error's text, which may hold causes
// and internal parameters, is in the field "error", cut to max_error_bytes
// (1 KiB by default). The level is checked with zap's Check before any
// field is built: at a disabled level a call allocates nothing.
//
// # Client errors are sampled
//
// A client sending bad requests in a loop must not flood the log: the
// lines at warn are sampled per error code across commands
// (client_errors: 10 a second, then 1 in 100, by default). Server faults
// are never sampled by this rule.
//
// # Bodies and redaction
//
// With bodies enabled, the request and the response of a successful call
// are logged as JSON. A field is replaced by "[REDACTED]" when it is tagged
// wego:"secret" (or audit:"secret"), or when its JSON name, Go name or map
// key is in the redact list: [BuiltinRedact] (password, token,
// authorization, card_number, …) plus the configuration's. The encoder of
// each command's types is built once, when the chain is built; a type with
// its own MarshalJSON or MarshalText is logged as it marshals itself.
// Bodies cost an encoding per call: enable them per command where needed.
//
// # Configuration
//
// Section "middleware.logging"; the zero value of each key is its default:
//
//	middleware:
//	  logging:
//	    success_level: debug     # or info
//	    bodies: false
//	    max_body_bytes: 4096
//	    max_error_bytes: 1024
//	    client_errors:           # per code: the default
//	      initial: 10
//	      thereafter: 100
//	      tick: 1s
//	    redact: [iban]           # added to the built-in names
//	    sampling:                # per command and level; off when absent
//	      initial: 100
//	      thereafter: 100
//	      tick: 1s
//	    commands:                # "service.Operation", "service.*" or "*"
//	      inventory.*: {success_level: info}
//	      inventory.Reserve: {bodies: true}
//	      health.*: {skip: true}
//
// Each setting of a command comes from the most specific entry that sets
// it ("inventory.Reserve", then "inventory.*", then "*"), then from the
// top level; skip comes from the most specific entry. Keys match command
// names without regard to case, since the configuration loader
// lower-cases them.
package logging
