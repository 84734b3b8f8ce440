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
// When the service called refuses a call that carried the service
// identity (unauthenticated or permission denied), the fault is the
// services' configuration, not the caller's: the client side answers
// auth.service_refused (internal, HTTP 500), which tells the caller
// nothing of the other service, and logs the refusal with the command
// and its route ([WithRoutes]). The refusals of a call made on the
// caller's behalf are the caller's, and are relayed as they are. A
// stream's refusal is turned the same way.
//
// # Events
//
// Once [WithEvents] tells the middleware which entries of events
// (middleware.Event: topics and subscribers of package events) are
// which, and [Middleware.CompileEvents] has compiled the rules on events
// against them (fw does both, the second when the application starts):
//
//   - publishing on a topic is the resource "publish:" and the topic
//     (auth.PublishResource): the client side of the topic refuses, with
//     auth.denied and before anything is sent, a publish that the rules
//     do not allow the service account;
//   - each delivery is checked on the server side of the subscriber, by
//     what its context says of the publisher ([WithEventCredential]): the
//     event's Authorization header, authenticated with its expiry judged
//     at the time the backend stored the event (auth.WithVerifyTime), or
//     the publisher's account for a delivery in process; the rules decide
//     the topic's publish resource for that account. The subscriber runs
//     with the publisher's account in its context. A refused delivery is
//     logged, reported to [WithRefused], and its error says it is
//     permanent, so that the backend dead-letters the event instead of
//     delivering it again;
//   - subscribing is the resource "subscribe:" and the subscriber's name
//     (auth.SubscribeResource): CompileEvents, and a reload, fail when the
//     rules do not let the service account subscribe each subscriber.
//
// # Reloads
//
// [Middleware.Reload] puts new rules, keys and identities in force without
// a restart; each call is decided by the old rules or the new ones, and
// none is dropped.
package auth
