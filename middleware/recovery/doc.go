// Package recovery is the middleware that turns a panic in the rest of a
// chain, or in the command itself, into an error, so that one bad call
// cannot bring the process down.
//
// A recovered panic becomes an internal error (code "internal", HTTP 500)
// whose cause is a [*PanicError] holding the panic value. The cause is for
// logs only: the error's Message, which is what transports show clients, is
// the generic "An internal error occurred.", and the client finds the
// request id in the error body that the transport writes. The panic value
// and the goroutine's stack go to one log line at error level, with the
// command, the side and the request id:
//
//	{"level":"error","msg":"panic recovered","command":"inventory.Reserve",
//	 "side":"server","request_id":"…","panic":"runtime error: …","stack":"goroutine 7 [running]: …"}
//
// Put it first in the server chain, so that it covers every middleware
// after it:
//
//	cat.UseServerSide(recoveryMW, requestidMW, loggingMW, auditMW)
//
// Because it runs before the request id middleware, recovery makes sure
// the context has a request id (it adds one, as package requestid would,
// when there is none), so that the panic's log line, the error body and the
// other middleware share it.
//
// A panic in a goroutine that the command starts is not in the call's
// goroutine, and no middleware can recover it. runtime.Goexit is not a
// panic and is not stopped.
//
// # Configuration
//
// Section "middleware.recovery"; the zero value of each key is its default:
//
//	middleware:
//	  recovery:
//	    omit_stack: false        # true: log the panic without the stack
//	    max_stack_bytes: 65536   # the stack logged is cut at this size
package recovery
