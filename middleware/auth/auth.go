package auth

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/auth"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// Header is the metadata key of credentials, in every transport: the
// Authorization header over HTTP, a message header of the same name over
// NATS.
const Header = "Authorization"

// Option configures the middleware.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	log     *zap.Logger
	popts   []auth.Option
	refused func(ctx context.Context, spec *middleware.Spec, acct *auth.Account, err error)
}

// WithLogger makes the middleware log refused calls, and the problems of
// the service identity, to l. By default it logs to the logger of each
// call's context (log.FromContext).
func WithLogger(l *zap.Logger) Option { return optionFunc(func(o *options) { o.log = l }) }

// WithAuthOptions passes opts to the providers, the service identity and
// the JWKS fetcher: a clock (auth.WithClock), the client of the JWKS
// document (auth.WithHTTPClient), keys made in code (auth.WithKeys).
func WithAuthOptions(opts ...auth.Option) Option {
	return optionFunc(func(o *options) { o.popts = append(o.popts, opts...) })
}

// WithRefused calls fn for each call that the middleware refuses, after
// logging it: with the call's context, the command, the account (nil for
// a caller without a valid credential) and the error the caller gets. An
// application writes audit records of refused calls with it (fw does).
func WithRefused(fn func(ctx context.Context, spec *middleware.Spec, acct *auth.Account, err error)) Option {
	return optionFunc(func(o *options) { o.refused = fn })
}

// Middleware is the authentication and authorization middleware. On the
// server side it authenticates each call and lets it proceed only when
// the rules allow it; on the client side it chooses the credential of the
// remote calls made on a caller's behalf. Make it with [New]; it is safe
// for concurrent use.
type Middleware struct {
	enabled   bool
	resources []auth.Resource
	policy    *auth.Policy // nil when disabled
	creds     atomic.Pointer[credentials]
	identity  atomic.Pointer[auth.Identity]
	initial   *auth.Identity // the identity at New: its on_behalf decides in Wrap
	onBehalf  []string       // identity.on_behalf at New
	o         options
}

// credentials is what authenticates: the providers of the Authorization
// header and the mapping of client certificates.
type credentials struct {
	providers auth.Providers
	certs     *auth.Certificates
}

// New returns the middleware that cfg (the section auth) describes, with
// its rules compiled against resources, the commands that exist (see
// [ResourceOf]). Problems — a malformed rule or key, a rule that reaches
// no command, a service identity whose key or file does not work — are
// [*config.Error] values whose keys are relative to the section
// ("rules[2].resource"). When cfg.Enabled is false the server side lets
// every call through and costs nothing; the service identity still
// applies to remote calls.
func New(cfg auth.Config, resources []auth.Resource, opts ...Option) (*Middleware, error) {
	m := &Middleware{enabled: cfg.Enabled, resources: slices.Clone(resources)}
	for _, opt := range opts {
		opt.apply(&m.o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	id, err := cfg.ServiceIdentity(m.o.popts...)
	if err != nil {
		return nil, err
	}
	m.identity.Store(id)
	m.initial, m.onBehalf = id, slices.Clone(cfg.Identity.OnBehalf)
	if m.enabled {
		creds, err := m.credentials(&cfg)
		if err != nil {
			return nil, err
		}
		table, err := cfg.Compile(m.resources)
		if err != nil {
			return nil, err
		}
		m.creds.Store(creds)
		m.policy = auth.NewPolicy(table)
	}
	return m, nil
}

// credentials makes the providers and the certificate mapping of cfg.
func (m *Middleware) credentials(cfg *auth.Config) (*credentials, error) {
	providers, err := cfg.Providers(append([]auth.Option{auth.WithLogger(m.o.log)}, m.o.popts...)...)
	if err != nil {
		return nil, err
	}
	certs, err := cfg.Certificates()
	if err != nil {
		return nil, err
	}
	return &credentials{providers: providers, certs: certs}, nil
}

// ErrRestartNeeded is returned by [Middleware.Reload] when the new
// settings change what applies only from the next start: enabled (then
// nothing else is applied either, so that turning auth off at run time
// does not put rules meant for no checks in force), whether there is a
// service identity, and the commands called on the caller's behalf
// (identity.on_behalf).
var ErrRestartNeeded = errors.New("auth: enabled, identity.account and identity.on_behalf change at the next start")

// Reload puts new settings in force without a restart: the rules,
// compiled against the same commands, the keys and API keys, the client
// certificates and the service identity. The swap is atomic: each call is
// decided by the old settings or the new, never by a mix, and none is
// dropped. When the new settings do not validate or compile, nothing
// changes and the error names the key. See [ErrRestartNeeded] for what
// waits for a restart.
func (m *Middleware) Reload(cfg auth.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Enabled != m.enabled {
		return ErrRestartNeeded
	}
	id, err := cfg.ServiceIdentity(m.o.popts...)
	if err != nil {
		return err
	}
	var creds *credentials
	var table *auth.Table
	if m.enabled {
		if creds, err = m.credentials(&cfg); err != nil {
			return err
		}
		if table, err = cfg.Compile(m.resources); err != nil {
			return err
		}
		if err := m.policy.Swap(table); err != nil {
			return err // not reached: the resources are the same
		}
		m.creds.Store(creds)
	}
	if (id == nil) == (m.initial == nil) {
		m.identity.Store(id)
	}
	if (id == nil) != (m.initial == nil) || !slices.Equal(cfg.Identity.OnBehalf, m.onBehalf) {
		return ErrRestartNeeded
	}
	return nil
}

// Enabled reports whether the server side checks calls (auth.enabled).
func (m *Middleware) Enabled() bool { return m.enabled }

// Table returns the rules in force, compiled; nil when the middleware is
// not enabled. (*auth.Table).Unreached lists the commands no rule
// reaches.
func (m *Middleware) Table() *auth.Table {
	if m.policy == nil {
		return nil
	}
	return m.policy.Table()
}

// ServiceAccount returns the deployable's service account
// (auth.identity.account), or nil when none is configured. Code that
// calls another command in process as the service rather than as its
// caller puts it in the call's context with auth.NewContext.
func (m *Middleware) ServiceAccount() *auth.Account {
	if id := m.identity.Load(); id != nil {
		return id.Account()
	}
	return nil
}

// Propagates reports whether the middleware needs the credentials of
// requests served and adds credentials to remote calls: an application
// then reads the Authorization header of each request into its context
// ([WithAuthorization]) and writes [Middleware.Outgoing] into each remote
// request. It is false when auth is off and no service identity is set.
func (m *Middleware) Propagates() bool { return m.enabled || m.initial != nil }

// Outgoing returns the Authorization header for a remote call made with
// ctx, "" for none: the caller's own, for a command called on the
// caller's behalf, or else the service identity's. It logs, and returns
// "", when the service identity cannot give its credential.
func (m *Middleware) Outgoing(ctx context.Context) string {
	if h, ok := OutgoingAuthorization(ctx); ok {
		return h
	}
	id := m.identity.Load()
	if id == nil {
		return ""
	}
	h, err := id.Authorization()
	if err != nil {
		l := m.logger(ctx)
		if ce := l.Check(zapcore.ErrorLevel, "auth: the service identity has no credential; the call carries none"); ce != nil {
			var buf [4]zap.Field
			ce.Write(append(log.AppendFields(ctx, buf[:0]), zap.Error(err))...)
		}
		return ""
	}
	return h
}

func (m *Middleware) logger(ctx context.Context) *zap.Logger {
	if m.o.log != nil {
		return m.o.log
	}
	return log.FromContext(ctx)
}

// Wrap returns, on the server side, a handler that authenticates each
// call and lets it proceed only when the rules allow it, with the account
// in its context (auth.FromContext); nil when auth is off. On the client
// side it returns, for a remote command called on the caller's behalf
// (identity.on_behalf), a handler that makes the call carry the caller's
// credential; nil otherwise. It adds nothing to the entries of events
// (middleware.Event): a delivery carries no caller's credential yet.
func (m *Middleware) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if spec.Kind == middleware.Event {
		return nil
	}
	switch spec.Side {
	case middleware.ServerSide:
		g := m.guard(spec)
		if g == nil {
			return nil
		}
		return func(ctx context.Context, c *middleware.Call) error {
			ctx, err := g.check(ctx)
			if err != nil {
				return err
			}
			return next(ctx, c)
		}
	case middleware.ClientSide:
		if !m.forwards(spec) {
			return nil
		}
		return func(ctx context.Context, c *middleware.Call) error {
			return next(forward(ctx), c)
		}
	}
	return nil
}

// WrapStream is [Middleware.Wrap] for streaming commands: a stream is
// authenticated and decided once, before it starts.
func (m *Middleware) WrapStream(spec *middleware.Spec, next middleware.StreamHandler) middleware.StreamHandler {
	switch spec.Side {
	case middleware.ServerSide:
		g := m.guard(spec)
		if g == nil {
			return nil
		}
		return func(ctx context.Context, s middleware.Stream) error {
			ctx, err := g.check(ctx)
			if err != nil {
				return err
			}
			return next(ctx, s)
		}
	case middleware.ClientSide:
		if !m.forwards(spec) {
			return nil
		}
		return func(ctx context.Context, s middleware.Stream) error {
			return next(forward(ctx), s)
		}
	}
	return nil
}

// forwards reports whether the remote calls of spec's command carry the
// caller's credential.
func (m *Middleware) forwards(spec *middleware.Spec) bool {
	return spec.Remote && m.initial != nil && m.initial.OnBehalf(spec.Name)
}

// forward returns ctx whose remote call carries the credential of the
// request being served, or none.
func forward(ctx context.Context) context.Context {
	h, _ := AuthorizationFrom(ctx)
	if h == multipleHeaders {
		h = ""
	}
	return &outgoingCtx{Context: ctx, header: h}
}

// guard checks the calls of one command.
type guard struct {
	m    *Middleware
	spec *middleware.Spec
	idx  int // in the policy's table; -1 for a command it does not know
}

// guard returns the guard of spec's command, or nil when auth is off.
func (m *Middleware) guard(spec *middleware.Spec) *guard {
	if !m.enabled {
		return nil
	}
	idx, ok := m.policy.Index(spec.Name)
	if !ok {
		// Registered after the rules were compiled: no rule reaches it,
		// and it is denied (deny by default). Said once, here.
		idx = -1
		m.logger(context.Background()).Warn("auth: a command registered after the rules were compiled is denied to every caller",
			zap.String(log.CommandKey, spec.Name))
	}
	return &guard{m: m, spec: spec, idx: idx}
}

// check authenticates a call and decides it. It returns the context for
// the rest of the chain, with the account in it, or the error the caller
// gets.
func (g *guard) check(ctx context.Context) (context.Context, error) {
	acct, local, err := g.m.authenticate(ctx)
	if err != nil {
		return ctx, g.refuse(ctx, nil, nil, err)
	}
	d := g.m.policy.Decide(g.idx, acct)
	if !d.Allowed {
		if acct == nil {
			err = auth.ErrMissingCredential.New()
		} else {
			err = auth.ErrDenied.New(errs.P("resource", g.spec.Name))
		}
		return ctx, g.refuse(ctx, acct, &d, err)
	}
	if acct != nil && !local {
		ctx = auth.NewContext(ctx, acct)
	}
	return ctx, nil
}

// authenticate finds the caller's account: the account of the context,
// for a call made in process by a command that was called with one (local
// reports true); else the account of the Authorization header of the
// request being served; else that of its verified client certificate;
// else none (an anonymous call). A header that is present must be valid.
func (m *Middleware) authenticate(ctx context.Context) (acct *auth.Account, local bool, err error) {
	if a, ok := auth.FromContext(ctx); ok {
		return a, true, nil
	}
	creds := m.creds.Load()
	if h, _ := AuthorizationFrom(ctx); h != "" {
		cred, err := auth.ParseAuthorization(h)
		if err != nil {
			return nil, false, err
		}
		a, err := creds.providers.Authenticate(ctx, cred)
		return a, false, err
	}
	if cert := auth.PeerCertificate(ctx); cert != nil {
		if a, ok := creds.certs.Account(cert); ok {
			return a, false, nil
		}
	}
	return nil, false, nil
}

// refuse logs a refused call and reports it to the WithRefused function.
// d is nil when the credential was not valid. Nothing of the credential
// is logged: the error's code says what was wrong with it.
func (g *guard) refuse(ctx context.Context, acct *auth.Account, d *auth.Decision, err error) error {
	level := zapcore.InfoLevel
	if errors.Is(err, auth.ErrMissingCredential) {
		level = zapcore.DebugLevel // the common case, and the cheapest to flood
	}
	if ce := g.m.logger(ctx).Check(level, "auth: call refused"); ce != nil {
		var buf [10]zap.Field
		fields := log.AppendFields(ctx, buf[:0])
		if _, ok := log.CommandFrom(ctx); !ok {
			fields = append(fields, zap.String(log.CommandKey, g.spec.Name))
		}
		fields = append(fields, zap.String("code", errs.CodeOf(err)))
		if acct != nil {
			fields = append(fields, zap.String("principal", acct.ID), zap.String("account_type", string(acct.Type)),
				zap.String("issuer", acct.Issuer))
		}
		if d != nil {
			fields = append(fields, zap.Stringer("reason", d.Reason))
			if r, ok := g.m.policy.Table().Rule(d.Rule); ok {
				fields = append(fields, zap.Int("rule", d.Rule), zap.String("rule_resource", r.Resource))
			}
		}
		ce.Write(fields...)
	}
	if g.m.o.refused != nil {
		g.m.o.refused(ctx, g.spec, acct, err)
	}
	return err
}

// Principal returns the id of the account of ctx (auth.FromContext), for
// audit records and the scope of idempotency keys, and whether there is
// one.
func Principal(ctx context.Context) (string, bool) {
	if a, ok := auth.FromContext(ctx); ok {
		return a.ID, true
	}
	return "", false
}

var (
	_ middleware.Middleware       = (*Middleware)(nil)
	_ middleware.StreamMiddleware = (*Middleware)(nil)
)
