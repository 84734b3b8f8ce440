package httptransport

import (
	"context"
	"net/http"
	"time"

	"github.com/wegomesh/wego/middleware/timeout"
)

// deadlines are the ends of a request's time: the server's, from the
// command budget, and the caller's, from X-Wego-Timeout; zero for none.
type deadlines struct{ server, caller time.Time }

// deadline returns the deadlines of r, counted from now, and false when
// its X-Wego-Timeout is not valid.
func (h *handler) deadline(r *http.Request) (deadlines, bool) {
	var dl deadlines
	v, asked := r.Header[canonTimeout]
	if h.budget <= 0 && !asked {
		return dl, true
	}
	now := time.Now()
	if h.budget > 0 {
		dl.server = now.Add(h.budget)
	}
	if asked {
		d, ok := parseTimeout(v)
		if !ok {
			return dl, false
		}
		if h.maxWait > 0 {
			d = min(d, h.maxWait)
		}
		dl.caller = now.Add(d)
	}
	return dl, true
}

// withDeadlines returns ctx ending at the caller's deadline or the
// server's, whichever comes first, and carrying the server's as the
// server deadline: a command that runs to completion is detached from the
// first, never from the second (timeout.WithServerBudget, which sets no
// timer for a command that never waits). The cancel function is nil when
// there is no deadline.
func withDeadlines(ctx context.Context, dl deadlines) (context.Context, context.CancelFunc) {
	if dl.server.IsZero() && dl.caller.IsZero() {
		return ctx, nil
	}
	return timeout.WithServerBudget(ctx, dl.server, dl.caller)
}

// maxTimeoutDigits bounds the digits of X-Wego-Timeout, as gRPC bounds
// grpc-timeout's: up to 99,999,999 ms, about 27.7 hours.
const maxTimeoutDigits = 8

// maxTimeoutValue is the largest X-Wego-Timeout; clients send no more.
const maxTimeoutValue = 99_999_999

// parseTimeout reads the values of X-Wego-Timeout: exactly one, of 1 to
// maxTimeoutDigits ASCII digits and not zero — no sign, space, fraction
// or unit.
func parseTimeout(v []string) (time.Duration, bool) {
	if len(v) != 1 || len(v[0]) == 0 || len(v[0]) > maxTimeoutDigits {
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
