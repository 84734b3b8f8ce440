package events

import (
	"errors"

	errs "github.com/wegomesh/wego/err"
)

// ErrInvalidOption is wrapped by the *catalog.RegistrationError of a
// subscriber registered with an option out of range.
var ErrInvalidOption = errors.New("invalid option")

// The errors of publishing and delivering. Each is an errs definition, so
// that the error has a code, a kind and a localized message, and matches
// its definition with [errors.Is]. Their parameters name no topic or
// subscriber for clients: those are internal parameters, in logs only.
var (
	// ErrNotRunning: an event was published with no running [Bus] in the
	// catalog the context carries (or in catalog.Default). An application
	// (package fw) runs one from its start to its stop; a test starts its
	// own.
	ErrNotRunning = errs.Define("events.not_running", errs.KindUnavailable,
		"Events cannot be published now: no event bus is running.")
	// ErrClosed: the backend has stopped.
	ErrClosed = errs.Define("events.closed", errs.KindUnavailable,
		"The event bus is stopped.")
	// ErrUnencodable: the published value cannot be encoded as JSON (a
	// channel, a function, an infinite number, or a MarshalJSON that
	// fails): a bug of the publisher.
	ErrUnencodable = errs.Define("events.unencodable", errs.KindInternal,
		"The event cannot be encoded.")
	// ErrTooLarge: the encoded event is over the bus's size limit, when
	// published or when received. Permanent: a delivery that fails with
	// it is dead-lettered at once.
	ErrTooLarge = errs.Define("events.too_large", errs.KindInvalidArgument,
		"The event is {{.size}} bytes, over the limit of {{.limit}} bytes.")
	// ErrUndecodable: a received payload is not a valid JSON value of the
	// topic's type. Permanent.
	ErrUndecodable = errs.Define("events.undecodable", errs.KindInvalidArgument,
		"The event is not a valid value of its type.")
	// ErrUnsupportedContentType: a received message's content type is not
	// JSON. Permanent.
	ErrUnsupportedContentType = errs.Define("events.unsupported_content_type", errs.KindInvalidArgument,
		"The event's content type {{.content_type}} is not supported; send application/json.")
)
