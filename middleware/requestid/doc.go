// Package requestid is the middleware that makes sure every call carries a
// request id ([log.RequestID]) in its context, so that every log line,
// audit record and error body of the call names the same id.
//
// When the context already carries an id — a transport server took it from
// the X-Request-Id header with [FromHeader], or the caller's client chain
// made one — the middleware does nothing and costs nothing. Otherwise it
// generates one with [log.NewRequestID] and stores it, with the command's
// name, in the context passed down the chain ([log.ContextWithCommand]), at
// the cost of one allocation.
//
// Use it in both chains. In the server chain it gives local calls and
// transports that did not set an id one; in the client chain it gives the
// call an id before the route, so that a remote route sends it to the
// serving process, whose transport keeps it:
//
//	mw, err := requestid.New(requestid.DefaultConfig())
//	cat.UseClientSide(mw)
//	cat.UseServerSide(recoveryMW, mw, loggingMW, auditMW)
//
// # Configuration
//
// The section "middleware.requestid" has one key, read by transports rather
// than by the middleware:
//
//	middleware:
//	  requestid:
//	    header: X-Request-Id   # the header that carries the id (default)
//
// An incoming header value is accepted when [log.ParseRequestID] accepts it:
// 1 to 128 bytes of ASCII letters, digits, '.', '_', ':' and '-'. Anything
// else is replaced by a fresh id rather than rejected, so that a client
// cannot inject text into logs.
package requestid
