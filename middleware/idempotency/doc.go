// Package idempotency is the server-side middleware that makes retries
// safe: a client sends an idempotency key with a request, the first
// outcome of the request is stored under the key, and a retry with the
// same key gets that outcome again instead of running the command twice.
//
//	m, err := idempotency.New(cfg) // cfg from the section middleware.idempotency
//	cat.UseServerSide(recoveryMW, loggingMW, validateMW, m)
//
//	catalog.Register("orders.Place", place, catalog.With(idempotency.Enabled.Value(true)))
//
// # The key
//
// Over HTTP the key is the Idempotency-Key header ([Header]), which the
// HTTP transport puts in the request's context; in process it is the
// context itself: [WithKey] and [KeyFrom]. A key is 1 to 255 bytes of
// printable ASCII ([ValidKey]); anything else is [ErrInvalidKey] (400).
// Clients make a new, unguessable key (a UUID) for each request they mean,
// and send it again, unchanged, with each retry of that request. The key
// travels with the context: the commands a keyed call calls get it too,
// and remote routes send it along.
//
// # Which commands
//
// A command accepts keys when it has the [Enabled] attribute, or a
// configuration entry enabled: true for it or its service; disable: true
// turns it off whatever the attribute. Other commands get their handler
// back unchanged and cost nothing, with a key or without. For the
// commands that accept keys, a call without one costs a context lookup,
// no allocation.
//
// # What is stored
//
// The records are scoped by command and, with [WithPrincipal], by the
// authenticated caller, so two commands, or two callers, never share a
// key. Each record holds the fingerprint of the request that made it: the
// SHA-256 of the request's JSON encoding (encoding/json is canonical for a
// type: struct fields in declaration order, sorted map keys) followed by
// the fields that JSON leaves out (json:"-", where transports bind path,
// query and header values). The outcome is:
//
//   - a success: a copy of the response value, replayed into the caller's
//     response. The copy is shallow: treat slices, maps and pointers in
//     the responses of these commands as read-only.
//   - an error of kind invalid argument, not found, already exists,
//     conflict or internal ([Stored]): the command's answer to this
//     request. An internal error is stored too, since the command may have
//     done part of its work before failing; retry with a new key once its
//     cause is fixed.
//
// Nothing is stored, and the next call with the key runs the command, for
// the errors that tell the client to try again — canceled, deadline
// exceeded, unavailable, resource exhausted — or that depend on its
// credentials — unauthenticated, permission denied —, for any error of a
// call whose own context ended, and when the command panics. Requests that
// the middleware outside this one rejects (validation, rate limits) never
// reach it, so a client can correct a rejected request and send it again
// with the same key.
//
// # Retries, duplicates, reuse
//
//   - The same key and the same request, after the first attempt ended:
//     its outcome, without running the command.
//   - The same key and the same request while the first attempt runs: the
//     call waits for it (bounded by its own context) and gets its outcome;
//     if the attempt leaves none (a transient error, a panic), one waiting
//     call runs the command.
//   - The same key and a different request: [ErrKeyReused] (422), at once.
//
// # Leases
//
// An attempt holds its key for a lease (lease, default 1m). A call that
// waits for it waits at most until the lease ends and then runs the
// command itself, so an attempt whose process died, or that hangs,
// blocks its key no longer than that. Make the lease longer than the
// longest a command may run: an attempt that outlives its lease may run
// at the same time as a retry, and its outcome is not stored (the
// middleware logs it).
//
// # Stores
//
// Records are kept by a [Store]. The default is a [MemoryStore] of at
// most max_entries records: outcomes expire after ttl (default 24h); when
// the store is full, expired records and then the oldest outcomes make
// room, so a retry is safe for ttl or until max_entries newer keys have
// been stored, whichever comes first. A store shared by the replicas of a
// service makes retries that reach another replica safe too; give it with
// [WithStore]. A Store reserves a key for an attempt, completes or
// releases that attempt (fenced by its token, so that an attempt that
// outlived its lease changes nothing) and reads records; one that
// serializes records keeps a response as its JSON encoding
// (json.RawMessage) and an error as its code, status, message, parameters
// and fields, rebuilt with errs.Remote. When the store fails, the call
// fails with [ErrUnavailable] (503) rather than run without protection.
//
// # Configuration (section middleware.idempotency)
//
//	ttl                 24h     how long outcomes are replayed
//	lease               1m      how long an attempt holds its key
//	max_entries         10000   records of the memory store
//	commands.<pattern>  -       per-command entry; the pattern is
//	                            "service.Operation", "service.*" or "*":
//	  enabled           false   accept keys, as the Enabled attribute does
//	  disable           false   ignore keys, whatever the attribute
//	  ttl, lease        0       overrides (0 inherits)
//
// In package fw's default server chain the middleware is innermost,
// right before the function, so that only a request that passed every
// other middleware reserves its key.
package idempotency
