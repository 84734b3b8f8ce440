package auth

import errs "github.com/wegomesh/wego/err"

// The errors of authentication. Each is of kind unauthenticated (HTTP 401)
// except [ErrDenied] (permission_denied, HTTP 403) and [ErrServiceRefused]
// (internal, HTTP 500). Their messages never
// hold the credential, nor any part of it: a client learns what was wrong
// with what it sent, never what it sent. Test for them with errors.Is.
var (
	// ErrMissingCredential: the call carries no credential.
	ErrMissingCredential = errs.Define("auth.missing_credential", errs.KindUnauthenticated,
		"Authentication is required")
	// ErrMalformedCredential: the Authorization header or the token cannot
	// be read: too long, binary, badly encoded or not a JWT.
	ErrMalformedCredential = errs.Define("auth.malformed_credential", errs.KindUnauthenticated,
		"The credential is malformed")
	// ErrUnsupportedScheme: the Authorization header uses a scheme other
	// than Bearer and ApiKey, or one that no provider is configured for.
	ErrUnsupportedScheme = errs.Define("auth.unsupported_scheme", errs.KindUnauthenticated,
		"The authorization scheme is not supported: use Bearer or ApiKey")
	// ErrTokenExpired: the token's expiry ("exp") has passed, clock skew
	// included.
	ErrTokenExpired = errs.Define("auth.token_expired", errs.KindUnauthenticated,
		"The token has expired")
	// ErrTokenNotYetValid: the token's not-before time ("nbf") is still to
	// come, clock skew included.
	ErrTokenNotYetValid = errs.Define("auth.token_not_yet_valid", errs.KindUnauthenticated,
		"The token is not valid yet")
	// ErrBadSignature: the token's signature does not verify with its key.
	ErrBadSignature = errs.Define("auth.bad_signature", errs.KindUnauthenticated,
		"The token's signature is not valid")
	// ErrUnknownKeyID: the token names a key id ("kid") that is neither
	// configured nor in the JWKS document, even after fetching it again.
	ErrUnknownKeyID = errs.Define("auth.unknown_key_id", errs.KindUnauthenticated,
		"The token is signed with an unknown key")
	// ErrKeyRetired: the token was signed with a key whose retirement time
	// has passed.
	ErrKeyRetired = errs.Define("auth.key_retired", errs.KindUnauthenticated,
		"The token is signed with a retired key")
	// ErrWrongIssuer: the token's issuer ("iss") is not one the
	// configuration accepts, or not the one its key is bound to.
	ErrWrongIssuer = errs.Define("auth.wrong_issuer", errs.KindUnauthenticated,
		"The token's issuer is not accepted")
	// ErrWrongAudience: the token's audience ("aud") names none of the
	// configured audiences.
	ErrWrongAudience = errs.Define("auth.wrong_audience", errs.KindUnauthenticated,
		"The token is not meant for this service")
	// ErrUnsignedToken: the token says "alg": "none".
	ErrUnsignedToken = errs.Define("auth.unsigned_token", errs.KindUnauthenticated,
		"Unsigned tokens are not accepted")
	// ErrAlgorithmNotAllowed: the token's algorithm is not the one its key
	// is pinned to, such as HS256 presented with the id of an RS256 key
	// (algorithm confusion), or an algorithm no key uses.
	ErrAlgorithmNotAllowed = errs.Define("auth.algorithm_not_allowed", errs.KindUnauthenticated,
		"The token's signing algorithm is not allowed for its key")
	// ErrInvalidClaims: a claim that is required (subject, expiry) is
	// missing, or a claim has the wrong type or value.
	ErrInvalidClaims = errs.Define("auth.invalid_claims", errs.KindUnauthenticated,
		"The token's claims are invalid")
	// ErrInvalidAPIKey: the API key is not one the configuration knows.
	ErrInvalidAPIKey = errs.Define("auth.invalid_api_key", errs.KindUnauthenticated,
		"The API key is not valid")
	// ErrKeyRevoked: the API key was revoked.
	ErrKeyRevoked = errs.Define("auth.key_revoked", errs.KindUnauthenticated,
		"The API key has been revoked")
	// ErrDenied: the caller is authenticated but no rule lets it use the
	// resource (parameter "resource", the command or event name).
	ErrDenied = errs.Define("auth.denied", errs.KindPermissionDenied,
		"Access to {{.resource}} is denied")
	// ErrServiceRefused: a remote call that the deployable made as
	// itself, with its service identity, was refused by the service it
	// called (unauthenticated or permission denied). The refusal is the
	// services' configuration's, not the caller's: the caller gets this
	// internal error, which tells nothing of the other service, and the
	// refusal is logged.
	ErrServiceRefused = errs.Define("auth.service_refused", errs.KindInternal,
		"The service could not complete the request")
)
