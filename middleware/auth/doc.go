// Package auth is the authentication and authorization middleware: it
// finds who calls each command, and lets the call proceed only when the
// rules allow it. Its rules, keys and accounts are those of package
// github.com/wegomesh/wego/auth (the section auth of the configuration),
// which this package's code imports under the same name; fw builds the
// middleware and places it early in the default server chain, right
// after recovery and requestid.
//
// # What code says
//
// A command's code can mark it public, or require scopes, with attributes
// given at registration or declaration:
//
//	catalog.Declare[StockRequest, StockResponse]("inventory.Stock", catalog.With(auth.Public()))
//	catalog.Declare[ChargeRequest, ChargeResponse]("billing.Charge", catalog.With(auth.Scopes("billing.write")))
//
// [ResourceOf] reads them, for the rules' compilation; the configuration's
// rules decide the rest.
//
// # The server side
//
// Each call is authenticated once, from, in order:
//
//   - the account of its context, for a call that a command makes in
//     process: a local call keeps its caller's account;
//   - the Authorization header of the request being served ("Bearer" and
//     a token, or "ApiKey" and a key), which the application puts in the
//     context with [WithAuthorization] (fw does, for every transport); a
//     header that is present must be valid, even for a public command;
//   - the verified client certificate of the request (HTTP over TLS),
//     mapped to a service account by auth.client_certs;
//   - nothing: the call is anonymous.
//
// A call without a valid credential is refused with a code of kind
// unauthenticated (HTTP 401, with WWW-Authenticate: Bearer); one whose
// account no rule allows with auth.denied (permission_denied, HTTP 403);
// an anonymous call that no rule allows with auth.missing_credential. A
// call that proceeds has its account in its context (auth.FromContext) for
// the command and the middleware after this one; [Principal] gives its id
// to audit records and idempotency keys.
//
// Refused calls are logged — debug for a missing credential, info
// otherwise — with the request id, the command, the code and, when the
// account is known, its id, type and issuer and the rule that decided;
// never the credential. [WithRefused] hands them to an audit trail.
//
// # The client side
//
// A remote call carries the service identity of the deployable
// (auth.identity), which [Middleware.Outgoing] gives the application's
// propagator; for the commands of identity.on_behalf, the client side of
// the middleware makes it carry the caller's own credential instead.
//
// # Events
//
// The entries of events (middleware.Event: topics and subscribers of
// package events) are not checked: a delivery does not carry its
// publisher's credential yet, and their names are not resources of the
// rules.
//
// # Reloads
//
// [Middleware.Reload] puts new rules, keys and identities in force without
// a restart; each call is decided by the old rules or the new ones, and
// none is dropped.
package auth
