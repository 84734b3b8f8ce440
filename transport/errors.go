package transport

import (
	"encoding/json"
	"maps"
	"slices"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
)

// Errors of every transport. Their codes are part of the contract with
// clients; errors.Is matches them on either side of a remote route, and
// each transport answers them with its own status ([errs.Error.Status]
// gives HTTP's).
var (
	// ErrBodyTooLarge: the request body is larger than the server accepts
	// (413 over HTTP).
	ErrBodyTooLarge = errs.Define("transport.body_too_large", errs.KindInvalidArgument,
		"The request body is larger than {{.limit}} bytes.", errs.WithHTTPStatus(413))
	// ErrUnsupportedMediaType: the request body is not application/json in
	// UTF-8 (415 over HTTP).
	ErrUnsupportedMediaType = errs.Define("transport.unsupported_media_type", errs.KindInvalidArgument,
		`Content type "{{.content_type}}" is not supported; send application/json.`,
		errs.WithHTTPStatus(415))
	// ErrOverloaded: the server serves as many requests as it may at once
	// (503). Trying again later may succeed.
	ErrOverloaded = errs.Define("transport.overloaded", errs.KindUnavailable,
		"The server is busy; try again in a moment.")
	// ErrUnavailable: a remote route could not reach its server, or got an
	// answer from something other than a WeGO server that says it is
	// unavailable (a proxy's 502, 503 or 504; no NATS responder): trying
	// again may succeed (its kind is unavailable). The cause, kept for
	// logs, names the node.
	ErrUnavailable = errs.Define("transport.unavailable", errs.KindUnavailable,
		"A service this request needs is unavailable; try again later.")
	// ErrResponseTooLarge: a remote route received a response body larger
	// than its client accepts.
	ErrResponseTooLarge = errs.Define("transport.response_too_large", errs.KindInternal,
		"A service this request needs sent a response that is too large.")
	// ErrBadResponse: a remote route received a response it cannot decode.
	ErrBadResponse = errs.Define("transport.bad_response", errs.KindInternal,
		"A service this request needs sent a response that is not valid.")
)

// ErrorBody is the body of every error answer, in every transport:
//
//	{"code":"inventory.out_of_stock","kind":"conflict","message":"Only 2 left.","request_id":"…","params":{"available":"2"}}
//
// The message is localized for the caller; params holds the error's
// client-safe parameters and fields its field violations. Internal
// parameters, causes and stacks are never in it.
type ErrorBody struct {
	Code      string                `json:"code"`
	Kind      string                `json:"kind,omitempty"`
	Message   string                `json:"message"`
	RequestID string                `json:"request_id,omitempty"`
	Params    map[string]string     `json:"params,omitempty"`
	Fields    []errs.FieldViolation `json:"fields,omitempty"`
}

// fallbackErrorBody is the body of an error that cannot be encoded.
var fallbackErrorBody = []byte(`{"code":"internal","kind":"internal","message":"An internal error occurred."}`)

// EncodeError returns the [ErrorBody] of e in JSON, localized with b for
// the languages of langs (the values of [HeaderAcceptLanguage]), and
// requestID. A nil bundle gives the English messages.
func EncodeError(e *errs.Error, requestID string, b *i18n.Bundle, langs ...string) []byte {
	body := ErrorBody{
		Code:      e.Code(),
		Kind:      e.Kind().String(),
		Message:   b.Localize(e, langs...),
		RequestID: requestID,
		Params:    e.WireParams(),
		Fields:    b.LocalizeFields(e, langs...),
	}
	out, err := json.Marshal(body)
	if err != nil { // not with these types; a last resort without details
		return fallbackErrorBody
	}
	return out
}

// DecodeError rebuilds the error of an error answer from its body, so that
// errors.Is works with the definition of its code: the same code, kind,
// parameters and field violations as the server's error, with status,
// the answer's HTTP status, or 0 for a transport that has none. It
// reports false, and returns nil, when body is not a WeGO error body; the
// transport then decides what the answer means. It never panics.
func DecodeError(status int, body []byte) (*errs.Error, bool) {
	var eb ErrorBody
	if json.Unmarshal(body, &eb) != nil || !errs.ValidCode(eb.Code) {
		return nil, false
	}
	var params []errs.Param
	for _, k := range slices.Sorted(maps.Keys(eb.Params)) {
		params = append(params, errs.Param{Key: k, Value: eb.Params[k]})
	}
	kind, _ := errs.KindFromCode(eb.Kind)
	return errs.RemoteKind(kind, status, eb.Code, eb.Message, params, eb.Fields), true
}

// ErrorOf returns the error of an error answer whose body is body and
// whose status, in HTTP's terms, is status (0 when the transport has
// none): the WeGO error the body carries ([DecodeError]), or, for a body
// that is not a WeGO error body (a proxy's page, garbage), [ErrUnavailable]
// for 502, 503 and 504, [ErrBadResponse] for a status outside 400–599,
// and otherwise an error of the status's kind without the body's text.
// It never returns nil.
func ErrorOf(status int, body []byte) *errs.Error {
	if status == 0 || status >= 400 && status <= 599 {
		if e, ok := DecodeError(status, body); ok {
			return e
		}
	}
	switch status {
	case 502, 503, 504:
		return ErrUnavailable.New()
	}
	if status < 400 || status > 599 {
		return ErrBadResponse.New()
	}
	return errs.Remote(status, "", "", nil, nil)
}
