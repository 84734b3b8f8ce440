// Package auth is WeGO's authentication and authorization core: accounts,
// the providers that turn a credential into an account, and the rules that
// decide, per command or event, which accounts may proceed. It knows no
// catalog, middleware or transport: a middleware reads the Authorization
// header (or the context of a local call), asks a [Provider] for the
// account and a [Policy] for the decision.
//
// # Accounts and providers
//
// An [Account] is an id, a type ([User] or [Service]), an issuer, scopes
// and metadata; [NewContext] and [FromContext] carry it in a context.
// [ParseAuthorization] reads an Authorization header into a [Credential];
// a [Provider] verifies it:
//
//   - [JWT] verifies bearer tokens (HS256, RS256, EdDSA) with configured
//     keys and the keys of a JWKS document, each key pinned to one
//     algorithm and optionally retired at a set time, and checks issuer,
//     audience, expiry and not-before with a small clock skew. Verified
//     tokens are cached, so a token seen again costs a hash and a lookup;
//   - [APIKeys] verifies API keys stored only as SHA-256 digests;
//   - [Providers] passes each credential to the provider of its scheme.
//
// A context made with [WithVerifyTime] has a token's expiry and
// not-before time judged at its time rather than now: the middleware
// judges a delivered event's credential at the time the event was
// stored.
//
// Every failure is an error of kind unauthenticated with a code of its own
// ([ErrTokenExpired], [ErrWrongAudience], [ErrAlgorithmNotAllowed], ...),
// localized like every WeGO code. No error, log line or panic value of
// this package holds a credential, nor a part of one.
//
// # Rules
//
// A [Rule] names a resource (a command, a pattern such as "inventory.*",
// an event resource such as "publish:orders.created" or
// "subscribe:shipping.OnOrderCreated", or "*"), who it
// applies to ("anyone", "authenticated", "type:service", "scope:NAME",
// "account:ID"), allow or deny, and a priority. The rule of highest
// priority that applies decides; at equal priority deny wins; when none
// applies the call is denied. [Compile] checks the rules against the
// resources that exist — a rule that reaches none is an error naming it —
// and compiles them into a [Table] that decides a call in constant time
// without allocation. A [Policy] holds the table in force and swaps it
// atomically when the rules are reloaded.
//
// # Using it from a middleware
//
// Once per command, when the chain is built: find the command's index with
// [Policy.Index]. Per call:
//
//	cred, err := auth.ParseAuthorization(header)   // or the account of the context
//	acct, err := provider.Authenticate(ctx, cred)  // 401 on error (WWW-Authenticate: Bearer)
//	d := policy.Decide(index, acct)                // acct nil for an anonymous call
//	if !d.Allowed { ... }                          // 401 when acct is nil, else 403 (ErrDenied)
//	ctx = auth.NewContext(ctx, acct)
//
// A call without credential is anonymous: it proceeds only to resources
// that "anyone" may use (public ones, say), and is otherwise answered with
// [ErrMissingCredential].
package auth
