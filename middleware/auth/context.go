package auth

import (
	"context"
	"reflect"
)

// multipleHeaders is what [WithAuthorization] keeps of a request that
// carries the Authorization header more than once: nothing of the values,
// only a byte that auth.ParseAuthorization refuses as malformed.
const multipleHeaders = "\x00"

type authorizationKey struct{}

// authorizationCtx carries the Authorization header of the request being
// served. Its String method, which context.Context's own formatting calls,
// never prints the header.
type authorizationCtx struct {
	context.Context
	header string
}

func (c *authorizationCtx) Value(key any) any {
	if _, ok := key.(authorizationKey); ok {
		return c
	}
	return c.Context.Value(key)
}

func (c *authorizationCtx) String() string {
	return contextName(c.Context) + ".WithAuthorization([REDACTED])"
}

// WithAuthorization returns a copy of ctx that carries the values of the
// Authorization header of the request being served, for the middleware to
// authenticate. Transports reach it through a propagator that the
// application adds (fw does). No values leave ctx unchanged; more than one
// value is a malformed credential. It costs one allocation.
func WithAuthorization(ctx context.Context, values []string) context.Context {
	switch len(values) {
	case 0:
		return ctx
	case 1:
		return &authorizationCtx{Context: ctx, header: values[0]}
	}
	return &authorizationCtx{Context: ctx, header: multipleHeaders}
}

// AuthorizationFrom returns the Authorization header that ctx carries,
// and whether it carries one. A request that carried the header more than
// once gives a value that is not a credential.
func AuthorizationFrom(ctx context.Context) (string, bool) {
	if c, ok := ctx.Value(authorizationKey{}).(*authorizationCtx); ok {
		return c.header, true
	}
	return "", false
}

type outgoingKey struct{}

// outgoingCtx carries the Authorization header that a remote call is to
// carry, chosen by the client side of the middleware.
type outgoingCtx struct {
	context.Context
	header string
}

func (c *outgoingCtx) Value(key any) any {
	if _, ok := key.(outgoingKey); ok {
		return c
	}
	return c.Context.Value(key)
}

func (c *outgoingCtx) String() string {
	return contextName(c.Context) + ".WithOutgoingAuthorization([REDACTED])"
}

// OutgoingAuthorization returns the Authorization header that the remote
// call made with ctx carries when the client side of the middleware chose
// it — the caller's own, for a command called on the caller's behalf, or
// "" for none — and true; false when it chose nothing, and the
// application's service identity applies.
func OutgoingAuthorization(ctx context.Context) (string, bool) {
	if c, ok := ctx.Value(outgoingKey{}).(*outgoingCtx); ok {
		return c.header, true
	}
	return "", false
}

// contextName names a context for String, as package context does.
func contextName(c context.Context) string {
	if s, ok := c.(interface{ String() string }); ok {
		return s.String()
	}
	return reflect.TypeOf(c).String()
}
