package httptransport

import (
	"net/http"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport"
)

// Errors of the HTTP transport. Their codes are part of the contract with
// clients; errors.Is(err, ErrBodyTooLarge) matches them on either side of
// a remote route.
var (
	// ErrBodyTooLarge: the request body is larger than max_body_bytes
	// (413); the same as [transport.ErrBodyTooLarge].
	ErrBodyTooLarge = transport.ErrBodyTooLarge
	// ErrUnsupportedMediaType: the request body is not application/json in
	// UTF-8 (415); the same as [transport.ErrUnsupportedMediaType].
	ErrUnsupportedMediaType = transport.ErrUnsupportedMediaType
	// ErrMethodNotAllowed: the path is served, but not for this method
	// (405, with an Allow header).
	ErrMethodNotAllowed = errs.Define("http.method_not_allowed", errs.KindInvalidArgument,
		"Method {{.method}} is not allowed here; use {{.allow}}.", errs.WithHTTPStatus(http.StatusMethodNotAllowed))
	// ErrNotFound: no command is served at the path (404).
	ErrNotFound = errs.Define("http.not_found", errs.KindNotFound,
		"Nothing is served at {{.path}}.")
	// ErrBadFraming: the request's body framing is ambiguous or
	// unsupported (400): Content-Length and Transfer-Encoding together, a
	// transfer coding other than chunked alone, Transfer-Encoding in an
	// HTTP/1.0 request, an invalid Content-Length or two that differ. The
	// connection closes after the answer. See [Server].
	ErrBadFraming = errs.Define("http.bad_framing", errs.KindInvalidArgument,
		"The request body's length is ambiguous; send either one Content-Length or Transfer-Encoding: chunked alone.")
	// ErrExpectationFailed: the request has an Expect header other than
	// 100-continue (417). The connection closes after the answer.
	ErrExpectationFailed = errs.Define("http.expectation_failed", errs.KindInvalidArgument,
		"Only the expectation 100-continue is supported.", errs.WithHTTPStatus(http.StatusExpectationFailed))
	// ErrRequestTimeout: the request body did not arrive within
	// read_timeout (408). The connection closes after the answer.
	ErrRequestTimeout = errs.Define("http.request_timeout", errs.KindInvalidArgument,
		"The request body did not arrive in time.", errs.WithHTTPStatus(http.StatusRequestTimeout))
	// ErrOverloaded: the server already serves max_concurrent requests
	// (503, with Retry-After). Trying again later may succeed. The same
	// as [transport.ErrOverloaded].
	ErrOverloaded = transport.ErrOverloaded

	// ErrUnavailable: a remote route could not reach its server, or got a
	// gateway error without a WeGO error body: connection refused or
	// reset, the connection closed before a response, a transport timeout,
	// 502, 503 or 504 from a proxy. Trying again may succeed (its kind is
	// unavailable). The cause, kept for logs, names the node. The same as
	// [transport.ErrUnavailable].
	ErrUnavailable = transport.ErrUnavailable
	// ErrResponseTooLarge: a remote route received a response body larger
	// than the client's max_response_bytes. The same as
	// [transport.ErrResponseTooLarge].
	ErrResponseTooLarge = transport.ErrResponseTooLarge
	// ErrBadResponse: a remote route received a response it cannot
	// decode. The same as [transport.ErrBadResponse].
	ErrBadResponse = transport.ErrBadResponse
)

// reason is a field violation that the transport itself finds while it
// binds a request: the message key of its localized text, and the English
// reason (the text after the field's name), a template of the violation's
// parameters. The framework's locale files (i18n/locales/http.*.toml)
// hold the message of each key, "{{.field}} " followed by the reason in
// English, and its Spanish translation; a test checks that they agree.
// The violations of decoding the JSON body are package codec's.
type reason = errs.Reason

// The reasons of binding a request.
var (
	reasonGivenOnce      = reason{Key: "http.given_once", Text: "must be given once"}
	reasonBodyNotAllowed = reason{Key: "http.body_not_allowed", Text: "must be empty for {{.method}}"}
	reasonBadQuery       = reason{Key: "http.bad_query", Text: "is not a valid query string"}
	reasonUnreadable     = reason{Key: "http.unreadable", Text: "could not be read"}
	reasonPathEmpty      = reason{Key: "http.path_empty", Text: "must not be empty: it is part of the path"}
	reasonBoolean        = reason{Key: "http.type.boolean", Text: "must be true or false"}
	reasonInteger        = reason{Key: "http.type.integer", Text: "must be an integer"}
	reasonUnsigned       = reason{Key: "http.type.unsigned", Text: "must be a non-negative integer"}
	reasonNumber         = reason{Key: "http.type.number", Text: "must be a number"}
	reasonString         = reason{Key: "http.type.string", Text: "must be a string"}
	reasonDuration       = reason{Key: "http.type.duration", Text: "must be a duration such as 1.5s"}
	reasonTime           = reason{Key: "http.type.time", Text: "must be a time such as 2006-01-02T15:04:05Z"}
	reasonValid          = reason{Key: "http.type.valid", Text: "must be a valid value"}
	reasonListBoolean    = reason{Key: "http.list.boolean", Text: "must be a list of true or false values"}
	reasonListInteger    = reason{Key: "http.list.integer", Text: "must be a list of integers"}
	reasonListUnsigned   = reason{Key: "http.list.unsigned", Text: "must be a list of non-negative integers"}
	reasonListNumber     = reason{Key: "http.list.number", Text: "must be a list of numbers"}
	reasonListDuration   = reason{Key: "http.list.duration", Text: "must be a list of durations such as 1.5s"}
	reasonListTime       = reason{Key: "http.list.time", Text: "must be a list of times such as 2006-01-02T15:04:05Z"}
	reasonListValid      = reason{Key: "http.list.valid", Text: "must be a list of valid values"}
	allReasons           = []reason{reasonGivenOnce, reasonBodyNotAllowed, reasonBadQuery,
		reasonUnreadable, reasonPathEmpty, reasonBoolean, reasonInteger, reasonUnsigned, reasonNumber, reasonString,
		reasonDuration, reasonTime, reasonValid, reasonListBoolean, reasonListInteger,
		reasonListUnsigned, reasonListNumber, reasonListDuration, reasonListTime, reasonListValid}
)
