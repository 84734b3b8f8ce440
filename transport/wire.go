package transport

import (
	"context"
	"errors"
	"strconv"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/idempotency"
)

// Metadata keys of the WeGO protocol. Every transport carries them in its
// own metadata (HTTP headers, NATS message headers), spelled as here; keys
// are case-insensitive.
const (
	// HeaderRequestID carries the request id both ways: a server takes it
	// from a request when it is valid ([log.ParseRequestID]) and makes a
	// new one otherwise, and echoes the id it used in its answer.
	HeaderRequestID = "X-Request-Id"
	// HeaderTimeout carries the caller's remaining time in milliseconds:
	// 1 to 8 ASCII digits, not zero, like grpc-timeout. A server runs the
	// command with that deadline, capped by its own limits; anything else,
	// or the key given twice, is an invalid argument ([ReasonTimeout]).
	HeaderTimeout = "X-Wego-Timeout"
	// HeaderIdempotencyKey carries the caller's idempotency key: a server
	// puts it in the request's context ([idempotency.WithKey]) and remote
	// routes send the key of their call's context along. A value that is
	// not 1 to 255 printable ASCII characters, or the key given twice, is
	// idempotency.invalid_key, whatever the command.
	HeaderIdempotencyKey = idempotency.Header
	// HeaderContentType names the encoding of a body. WeGO's transports
	// speak JSON: "application/json", with at most a charset parameter
	// that says UTF-8.
	HeaderContentType = "Content-Type"
	// HeaderAcceptLanguage lists the languages the caller reads; error
	// messages are localized for it.
	HeaderAcceptLanguage = "Accept-Language"
)

// ContentTypeJSON is the content type of every body that WeGO's
// transports send.
const ContentTypeJSON = "application/json"

// MaxTimeoutDigits bounds the digits of [HeaderTimeout], as gRPC bounds
// grpc-timeout's: up to 99,999,999 ms, about 27.7 hours.
const MaxTimeoutDigits = 8

// MaxTimeout is the longest time [HeaderTimeout] can carry; callers with
// more time send this.
const MaxTimeout = 99_999_999 * time.Millisecond

// ParseTimeout reads the values of [HeaderTimeout]: exactly one, of 1 to
// [MaxTimeoutDigits] ASCII digits and not zero — no sign, space, fraction
// or unit. It reports false for anything else.
func ParseTimeout(v []string) (time.Duration, bool) {
	if len(v) != 1 || len(v[0]) == 0 || len(v[0]) > MaxTimeoutDigits {
		return 0, false
	}
	var ms int64
	for i := 0; i < len(v[0]); i++ {
		c := v[0][i]
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
	}
	return time.Duration(ms) * time.Millisecond, ms > 0
}

// FormatTimeout returns the value of [HeaderTimeout] for the time left
// until a deadline: whole milliseconds rounded up (so that a caller with
// a little time left never sends "no time"), at most [MaxTimeout]. left
// must be positive.
func FormatTimeout(left time.Duration) string {
	ms := (left + time.Millisecond - 1) / time.Millisecond
	return strconv.FormatInt(min(int64(ms), int64(MaxTimeout/time.Millisecond)), 10)
}

// ReasonTimeout is the field violation of a request whose [HeaderTimeout]
// is not valid; its field is the header's name.
var ReasonTimeout = errs.Reason{Key: "transport.timeout", Text: "must be a whole number of milliseconds from 1 to 99999999"}

// RequestIDOf returns the request id that md carries in
// [HeaderRequestID] and true, or a new id and false when it carries none
// or one that is not valid.
func RequestIDOf(md Metadata) (log.RequestID, bool) {
	if v := md.Values(HeaderRequestID); len(v) > 0 {
		if id, err := log.ParseRequestID(v[0]); err == nil {
			return id, true
		}
	}
	return log.NewRequestID(), false
}

// Outgoing writes what a remote call carries besides its body into md,
// the metadata of the request a remote route is about to send: the
// propagators' context, the request id of ctx (a new one when ctx has
// none), its idempotency key and the time left until its deadline. It
// fails with a deadline-exceeded error, sending nothing, when no time is
// left.
func Outgoing(ctx context.Context, md Metadata, props []Propagator) error {
	var left time.Duration
	if dl, ok := ctx.Deadline(); ok {
		if left = time.Until(dl); left <= 0 {
			return errs.DeadlineExceeded().WithCause(context.DeadlineExceeded)
		}
	}
	for _, p := range props {
		p.Inject(ctx, md)
	}
	id, ok := log.RequestIDFrom(ctx)
	if !ok {
		id = log.NewRequestID()
	}
	md.Set(HeaderRequestID, id.String())
	if k, ok := idempotency.KeyFrom(ctx); ok {
		md.Set(HeaderIdempotencyKey, k)
	}
	if left > 0 {
		md.Set(HeaderTimeout, FormatTimeout(left))
	}
	return nil
}

// ContextError is the error of a call whose context ended: a
// deadline-exceeded error when ctxErr is (or wraps)
// context.DeadlineExceeded, a canceled one otherwise; cause is kept for
// logs.
func ContextError(ctxErr, cause error) error {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return errs.DeadlineExceeded().WithCause(cause)
	}
	return errs.Canceled().WithCause(cause)
}
