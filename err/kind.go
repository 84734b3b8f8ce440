package errs

import "net/http"

// Kind is the category of an error. The set is closed: it decides the HTTP
// status of an error and how middleware react to it, so that a breaker, a
// retry or a transport need not know application codes.
type Kind uint8

// The kinds of error. The zero Kind is not valid; [From] maps anything
// unknown to [KindInternal].
const (
	// KindInvalidArgument: the caller sent a request that can never succeed
	// as it is (HTTP 400).
	KindInvalidArgument Kind = iota + 1
	// KindNotFound: the thing named by the request does not exist (HTTP 404).
	KindNotFound
	// KindAlreadyExists: the thing the request creates exists already (HTTP 409).
	KindAlreadyExists
	// KindConflict: the request conflicts with the current state, such as
	// insufficient stock or a stale version (HTTP 409).
	KindConflict
	// KindUnauthenticated: the caller is not authenticated (HTTP 401).
	KindUnauthenticated
	// KindPermissionDenied: the caller may not do this (HTTP 403).
	KindPermissionDenied
	// KindResourceExhausted: a rate limit, quota or concurrency limit was hit
	// (HTTP 429).
	KindResourceExhausted
	// KindCanceled: the caller gave up (HTTP 499, the de-facto status for a
	// client that closed the request).
	KindCanceled
	// KindInternal: a bug or an unexpected failure on the serving side
	// (HTTP 500).
	KindInternal
	// KindUnavailable: the service cannot serve now; trying again later may
	// work (HTTP 503).
	KindUnavailable
	// KindDeadlineExceeded: the deadline passed before the work finished
	// (HTTP 504).
	KindDeadlineExceeded

	kindCount = iota + 1
)

// StatusClientClosedRequest is the HTTP status of [KindCanceled]: not in
// net/http, but the one proxies use for a client that went away.
const StatusClientClosedRequest = 499

var kindInfo = [kindCount]struct {
	code   string
	status int
}{
	KindInvalidArgument:   {"invalid_argument", http.StatusBadRequest},
	KindNotFound:          {"not_found", http.StatusNotFound},
	KindAlreadyExists:     {"already_exists", http.StatusConflict},
	KindConflict:          {"conflict", http.StatusConflict},
	KindUnauthenticated:   {"unauthenticated", http.StatusUnauthorized},
	KindPermissionDenied:  {"permission_denied", http.StatusForbidden},
	KindResourceExhausted: {"resource_exhausted", http.StatusTooManyRequests},
	KindCanceled:          {"canceled", StatusClientClosedRequest},
	KindInternal:          {"internal", http.StatusInternalServerError},
	KindUnavailable:       {"unavailable", http.StatusServiceUnavailable},
	KindDeadlineExceeded:  {"deadline_exceeded", http.StatusGatewayTimeout},
}

// Kinds returns every valid kind, in declaration order.
func Kinds() []Kind {
	ks := make([]Kind, 0, kindCount-1)
	for k := Kind(1); k < kindCount; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Valid reports whether k is one of the declared kinds.
func (k Kind) Valid() bool { return k > 0 && k < kindCount }

// String returns the kind's code, such as "not_found".
func (k Kind) String() string {
	if !k.Valid() {
		return "internal"
	}
	return kindInfo[k].code
}

// Code is the same as [Kind.String]: the code of errors of this kind that
// have no application code of their own.
func (k Kind) Code() string { return k.String() }

// Status returns the HTTP status of the kind. An invalid kind has status 500.
func (k Kind) Status() int {
	if !k.Valid() {
		return http.StatusInternalServerError
	}
	return kindInfo[k].status
}

// ServerFault reports whether errors of this kind are the serving side's
// fault (internal, unavailable, deadline exceeded): the ones a circuit
// breaker counts. Client mistakes and cancellation are not.
func (k Kind) ServerFault() bool {
	return k == KindInternal || k == KindUnavailable || k == KindDeadlineExceeded
}

// Transient reports whether trying the same request again may succeed
// (unavailable): the ones a retry acts on.
func (k Kind) Transient() bool { return k == KindUnavailable }

// KindFromCode returns the kind whose own code is code ("not_found" gives
// [KindNotFound]).
func KindFromCode(code string) (Kind, bool) {
	for k := Kind(1); k < kindCount; k++ {
		if kindInfo[k].code == code {
			return k, true
		}
	}
	return 0, false
}

// KindFromStatus returns the kind that best matches an HTTP status, for
// errors that come back from a remote peer with a code this process does
// not know. Unknown 4xx statuses are [KindInvalidArgument] and unknown 5xx
// statuses [KindInternal]; 502 maps to [KindUnavailable] because a gateway
// failure is transient.
func KindFromStatus(status int) Kind {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusRequestHeaderFieldsTooLarge,
		http.StatusMethodNotAllowed, http.StatusUnprocessableEntity:
		return KindInvalidArgument
	case http.StatusUnauthorized:
		return KindUnauthenticated
	case http.StatusForbidden:
		return KindPermissionDenied
	case http.StatusNotFound:
		return KindNotFound
	case http.StatusConflict, http.StatusPreconditionFailed:
		return KindConflict
	case http.StatusTooManyRequests:
		return KindResourceExhausted
	case StatusClientClosedRequest:
		return KindCanceled
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return KindUnavailable
	case http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return KindDeadlineExceeded
	}
	if status >= 400 && status < 500 {
		return KindInvalidArgument
	}
	return KindInternal
}
