package newrelic

import (
	"context"
	"net/http"

	nr "github.com/newrelic/go-agent/v3/newrelic"
)

// HTTPServerMiddleware returns HTTP middleware that starts a web
// transaction for each request, accepts the caller's distributed-tracing
// headers, records the request and the response status, and puts the
// transaction in the request's context, where the command middleware finds
// it and names it after the command. Until a command names it, the
// transaction is named after the method and the route pattern, such as
// "POST /inventory/reserve" (or "POST unmatched" when the handler is not
// reached through a ServeMux pattern).
//
// With a nil app it returns the handler unchanged.
func HTTPServerMiddleware(app *nr.Application) func(http.Handler) http.Handler {
	if app == nil {
		return func(h http.Handler) http.Handler { return h }
	}
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name := r.Pattern
			if name == "" {
				name = r.Method + " unmatched"
			}
			txn := app.StartTransaction(name)
			defer txn.End()
			// SetWebRequestHTTP also accepts the distributed-tracing
			// headers (traceparent, tracestate, newrelic); accepting them
			// a second time would be reported as an API misuse.
			txn.SetWebRequestHTTP(r)
			w = txn.SetWebResponse(w)
			h.ServeHTTP(w, nr.RequestWithTransactionContext(r, txn))
		})
	}
}

// InjectHeaders adds the distributed-tracing headers of the transaction in
// ctx to h, the headers of an outgoing request; it does nothing when ctx
// has no transaction. The HTTP transport client calls it for each remote
// call.
func InjectHeaders(ctx context.Context, h http.Header) {
	if txn := nr.FromContext(ctx); txn != nil {
		txn.InsertDistributedTraceHeaders(h)
	}
}
