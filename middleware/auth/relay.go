package auth

import (
	"context"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/auth"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// Relayed refusals. A remote call that the deployable makes as itself
// carries its service identity: when the service called refuses it
// (unauthenticated or permission denied), what is wrong is the services'
// configuration — the callee's rules, the identity's credential or
// audience — not the caller of this deployable, whose credential the
// call did not carry. Relaying the refusal would answer that caller 401
// or 403 for a fault it cannot mend, and tell it about the services
// behind this one. The client side of the middleware turns it into
// auth.service_refused (internal, HTTP 500) and logs the refusal received
// with the command and its route. A command called on the caller's behalf
// (identity.on_behalf) carries the caller's credential: its refusals are
// the caller's, and are relayed as they are.

// WithRoutes gives the middleware a description of the route of each
// command ("nats://inventory", "http://127.0.0.1:8081"), for the log line
// of a refused service call. fw passes the routes of its configuration.
func WithRoutes(routeOf func(command string) string) Option {
	return optionFunc(func(o *options) { o.routeOf = routeOf })
}

// relay returns the client-side handler of a remote command that carries
// the service identity, or nil when the deployable has none or the
// command is not remote.
func (m *Middleware) relay(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if !spec.Remote || m.initial == nil {
		return nil
	}
	return func(ctx context.Context, c *middleware.Call) error {
		err := next(ctx, c)
		if !refusal(err) {
			return err
		}
		return m.serviceRefused(ctx, spec, c.Node, err)
	}
}

// relayStream is relay for a streaming command: a stream that ends with
// a refusal ends with auth.service_refused instead, whenever the refusal
// comes (the service called's auth refuses before the stream starts; a
// refusal its command returns later is converted too, as a unary call's
// is).
func (m *Middleware) relayStream(spec *middleware.Spec, next middleware.StreamHandler) middleware.StreamHandler {
	if !spec.Remote || m.initial == nil {
		return nil
	}
	return func(ctx context.Context, s middleware.Stream) error {
		err := next(ctx, s)
		if !refusal(err) {
			return err
		}
		return m.serviceRefused(ctx, spec, "", err)
	}
}

// refusal reports whether err is a refusal: unauthenticated or
// permission denied.
func refusal(err error) bool {
	if err == nil {
		return false
	}
	k := errs.KindOf(err)
	return k == errs.KindUnauthenticated || k == errs.KindPermissionDenied
}

// serviceRefused logs the refusal err of the service's own call of spec's
// command, sent to node, and returns the error its caller gets.
func (m *Middleware) serviceRefused(ctx context.Context, spec *middleware.Spec, node string, err error) error {
	if ce := m.logger(ctx).Check(zapcore.ErrorLevel,
		"auth: the service's own call was refused by the service it called; its caller gets auth.service_refused"); ce != nil {
		var buf [10]zap.Field
		fields := append(log.AppendFields(ctx, buf[:0]), zap.String("called", spec.Name))
		if m.o.routeOf != nil {
			if r := m.o.routeOf(spec.Name); r != "" {
				fields = append(fields, zap.String("route", r))
			}
		}
		if node != "" {
			fields = append(fields, zap.String("node", node))
		}
		if id := m.identity.Load(); id != nil {
			fields = append(fields, zap.String("service_account", id.Account().ID))
		}
		fields = append(fields, zap.String("code", errs.CodeOf(err)), zap.Error(err))
		ce.Write(fields...)
	}
	return auth.ErrServiceRefused.New(errs.InternalParam("command", spec.Name))
}
