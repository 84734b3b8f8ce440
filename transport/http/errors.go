package httptransport

import (
	"net/http"

	errs "github.com/wegomesh/wego/err"
)

// Errors of the HTTP transport. Their codes are part of the contract with
// clients; errors.Is(err, ErrBodyTooLarge) matches them on either side of
// a remote route.
var (
	// ErrBodyTooLarge: the request body is larger than max_body_bytes (413).
	ErrBodyTooLarge = errs.Define("http.body_too_large", errs.KindInvalidArgument,
		"The request body is larger than {{.limit}} bytes.", errs.WithHTTPStatus(http.StatusRequestEntityTooLarge))
	// ErrUnsupportedMediaType: the request body is not application/json in
	// UTF-8 (415).
	ErrUnsupportedMediaType = errs.Define("http.unsupported_media_type", errs.KindInvalidArgument,
		`Content type "{{.content_type}}" is not supported; send application/json.`,
		errs.WithHTTPStatus(http.StatusUnsupportedMediaType))
	// ErrMethodNotAllowed: the path is served, but not for this method
	// (405, with an Allow header).
	ErrMethodNotAllowed = errs.Define("http.method_not_allowed", errs.KindInvalidArgument,
		"Method {{.method}} is not allowed here; use {{.allow}}.", errs.WithHTTPStatus(http.StatusMethodNotAllowed))
	// ErrNotFound: no command is served at the path (404).
	ErrNotFound = errs.Define("http.not_found", errs.KindNotFound,
		"Nothing is served at {{.path}}.")

	// ErrUnavailable: a remote route could not reach its server, or got a
	// gateway error without a WeGO error body: connection refused or
	// reset, the connection closed before a response, a transport timeout,
	// 502, 503 or 504 from a proxy. Trying again may succeed (its kind is
	// unavailable). The cause, kept for logs, names the node.
	ErrUnavailable = errs.Define("transport.unavailable", errs.KindUnavailable,
		"A service this request needs is unavailable; try again later.")
	// ErrResponseTooLarge: a remote route received a response body larger
	// than the client's max_response_bytes.
	ErrResponseTooLarge = errs.Define("http.response_too_large", errs.KindInternal,
		"A service this request needs sent a response that is too large.")
	// ErrBadResponse: a remote route received a response it cannot decode.
	ErrBadResponse = errs.Define("http.bad_response", errs.KindInternal,
		"A service this request needs sent a response that is not valid.")
)
