package newrelic

import (
	"context"
	"net/http"

	nr "github.com/newrelic/go-agent/v3/newrelic"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport"
)

// ServerHook returns a hook for every transport's servers
// (transport.Host.ServerHooks) that starts a web transaction named after
// the command for each request, accepts the caller's distributed-tracing
// headers from the request's metadata, puts the transaction in the
// request's context, where the middleware of package middleware/newrelic
// finds it and the command's calls report into it, and ends it
// once the response is sent, with the status of the error the client got
// (200 after a success). With a nil app it returns nil, which servers
// skip.
func ServerHook(app *nr.Application) transport.ServerHook {
	if app == nil {
		return nil
	}
	return func(ctx context.Context, r transport.ServerRequest) (context.Context, func(error)) {
		txn := app.StartTransaction(r.Spec.Name)
		// SetWebRequest also accepts the distributed-tracing headers
		// (traceparent, tracestate, newrelic); the propagator leaves them.
		txn.SetWebRequest(nr.WebRequest{Header: httpHeader(r.Metadata), Transport: transportType(r.Transport)})
		return nr.NewContext(ctx, txn), func(err error) {
			status := http.StatusOK
			if err != nil {
				status = errs.From(err).Status()
			}
			txn.SetWebResponse(nil).WriteHeader(status)
			txn.End()
		}
	}
}

// Propagator sends the distributed-tracing headers of the transaction in
// the context of each call of a remote route, in every transport
// (transport.Host.Propagators). Its Extract does nothing: the transaction
// that [ServerHook] starts accepts the headers itself.
type Propagator struct{}

var _ transport.Propagator = Propagator{}

// Inject adds the distributed-tracing headers of the transaction in ctx to
// md; it does nothing when ctx has no transaction.
func (Propagator) Inject(ctx context.Context, md transport.Metadata) {
	txn := nr.FromContext(ctx)
	if txn == nil {
		return
	}
	if h, ok := md.(transport.MD); ok {
		txn.InsertDistributedTraceHeaders(http.Header(h))
		return
	}
	h := http.Header{}
	txn.InsertDistributedTraceHeaders(h)
	for k, v := range h {
		if len(v) > 0 {
			md.Set(k, v[0])
		}
	}
}

// Extract returns ctx: see [Propagator].
func (Propagator) Extract(ctx context.Context, _ transport.Metadata) context.Context { return ctx }

// httpHeader returns md as an http.Header, for the agent: the same map
// when md is one, otherwise a copy.
func httpHeader(md transport.Metadata) http.Header {
	switch h := md.(type) {
	case nil:
		return nil
	case transport.MD:
		return http.Header(h)
	}
	keys := md.Keys()
	h := make(http.Header, len(keys))
	for _, k := range keys {
		for _, v := range md.Values(k) {
			h.Add(k, v)
		}
	}
	return h
}

// transportType names a WeGO transport for the agent.
func transportType(name string) nr.TransportType {
	switch name {
	case "http":
		return nr.TransportHTTP
	case "https":
		return nr.TransportHTTPS
	}
	return nr.TransportOther
}
