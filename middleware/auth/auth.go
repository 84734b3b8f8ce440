package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
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
	events  func(spec *middleware.Spec) (topic string, subscriber bool) // see WithEvents
	routeOf func(command string) string                                 // see WithRoutes
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
	resources []auth.Resource // the commands'
	policy    *auth.Policy    // the commands'; nil when disabled
	cmdOrig   atomic.Pointer[[]int]
	creds     atomic.Pointer[credentials]
	identity  atomic.Pointer[auth.Identity]
	initial   *auth.Identity // the identity at New: its on_behalf decides in Wrap
	onBehalf  []string       // identity.on_behalf at New
	o         options

	mu     sync.Mutex                  // serializes Reload and CompileEvents
	rules  atomic.Pointer[[]auth.Rule] // the section's rules in force
	events atomic.Pointer[eventRules]  // nil until CompileEvents
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
//
// The rules on events ("publish:...", "subscribe:...") are compiled
// apart, by [Middleware.CompileEvents], against the topics and
// subscribers: an application registers subscribers after New. Event
// resources given here are compiled so at once.
func New(cfg auth.Config, resources []auth.Resource, opts ...Option) (*Middleware, error) {
	var evRes []auth.Resource
	m := &Middleware{enabled: cfg.Enabled}
	for _, r := range resources {
		if isEventResource(r.Name) {
			evRes = append(evRes, r)
		} else {
			m.resources = append(m.resources, r)
		}
	}
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
	rules := slices.Clone(cfg.Rules)
	m.rules.Store(&rules)
	if m.enabled {
		creds, err := m.credentials(&cfg)
		if err != nil {
			return nil, err
		}
		cmd, _, orig, _ := splitRules(cfg.Rules)
		table, err := auth.Compile(cmd, m.resources)
		if err != nil {
			return nil, err
		}
		m.creds.Store(creds)
		m.policy = auth.NewPolicy(table)
		m.cmdOrig.Store(&orig)
		if evRes != nil {
			if err := m.CompileEvents(evRes); err != nil {
				return nil, err
			}
		}
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
// compiled against the same commands, topics and subscribers, the keys
// and API keys, the client certificates and the service identity. The
// swap is atomic: each call is decided by the old settings or the new,
// never by a mix, and none is dropped. When the new settings do not
// validate or compile, or would not let the service account subscribe
// its subscribers, nothing changes and the error names the key. See
// [ErrRestartNeeded] for what waits for a restart.
func (m *Middleware) Reload(cfg auth.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cfg.Enabled != m.enabled {
		return ErrRestartNeeded
	}
	id, err := cfg.ServiceIdentity(m.o.popts...)
	if err != nil {
		return err
	}
	keep := (id == nil) == (m.initial == nil) // the identity changes now
	var creds *credentials
	var table *auth.Table
	if m.enabled {
		if creds, err = m.credentials(&cfg); err != nil {
			return err
		}
		cmd, _, orig, _ := splitRules(cfg.Rules)
		if table, err = auth.Compile(cmd, m.resources); err != nil {
			return err
		}
		var ev *eventRules
		if old := m.events.Load(); old != nil {
			self := m.identity.Load()
			if keep {
				self = id
			}
			if ev, err = compileEvents(old.set, cfg.Rules, self); err != nil {
				return err
			}
		}
		if err := m.policy.Swap(table); err != nil {
			return err // not reached: the resources are the same
		}
		m.cmdOrig.Store(&orig)
		if ev != nil {
			m.events.Store(ev)
		}
		m.creds.Store(creds)
	}
	rules := slices.Clone(cfg.Rules)
	m.rules.Store(&rules)
	if keep {
		m.identity.Store(id)
	}
	if (id == nil) != (m.initial == nil) || !slices.Equal(cfg.Identity.OnBehalf, m.onBehalf) {
		return ErrRestartNeeded
	}
	return nil
}

// Enabled reports whether the server side checks calls (auth.enabled).
func (m *Middleware) Enabled() bool { return m.enabled }

// Table returns the rules on commands in force, compiled; nil when the
// middleware is not enabled. (*auth.Table).Unreached lists the commands no
// rule reaches. [Middleware.EventTable] has the rules on events.
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
	return m.ServiceAuthorization(ctx)
}

// noCredential logs that the service identity could not give its
// credential.
func (m *Middleware) noCredential(ctx context.Context, err error) {
	if ce := m.logger(ctx).Check(zapcore.ErrorLevel, "auth: the service identity has no credential; the call carries none"); ce != nil {
		var buf [4]zap.Field
		ce.Write(append(log.AppendFields(ctx, buf[:0]), zap.Error(err))...)
	}
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
// credential; for another remote command of a deployable with a service
// identity, a handler that turns a refusal of the service's own call into
// auth.service_refused (see [WithRoutes]); nil otherwise. For the entries
// of events (middleware.Event) it checks publishes on the client side of
// a topic and deliveries on the server side of a subscriber, once
// [WithEvents] tells them apart; it adds nothing to them otherwise.
func (m *Middleware) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if spec.Kind == middleware.Event {
		return m.wrapEvent(spec, next)
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
			return m.relay(spec, next)
		}
		return func(ctx context.Context, c *middleware.Call) error {
			return next(forward(ctx), c)
		}
	}
	return nil
}

// WrapStream is [Middleware.Wrap] for streaming commands: a stream is
// authenticated and decided once, before it starts, and a refusal of a
// stream that the deployable opens as itself reaches its caller as
// auth.service_refused, as a unary call's does.
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
			return m.relayStream(spec, next)
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
	rule := ruleRef{index: -1}
	if d != nil {
		if r, ok := g.m.policy.Table().Rule(d.Rule); ok {
			rule = ruleRef{index: d.Rule, resource: r.Resource}
			if orig := *g.m.cmdOrig.Load(); d.Rule < len(orig) {
				rule.index = orig[d.Rule]
			}
		}
	}
	g.m.refuse(ctx, "auth: call refused", g.spec, acct, d, rule, err)
	return err
}

// ruleRef names the rule that decided a refusal, in the section's rules:
// its index (-1: none) and its resource.
type ruleRef struct {
	index    int
	resource string
}

// refuse logs a refusal with msg and reports it to the WithRefused
// function. d is nil when the credential was not valid.
func (m *Middleware) refuse(ctx context.Context, msg string, spec *middleware.Spec, acct *auth.Account, d *auth.Decision, rule ruleRef, err error) {
	level := zapcore.InfoLevel
	if errors.Is(err, auth.ErrMissingCredential) {
		level = zapcore.DebugLevel // the common case, and the cheapest to flood
	}
	if ce := m.logger(ctx).Check(level, msg); ce != nil {
		var buf [10]zap.Field
		fields := log.AppendFields(ctx, buf[:0])
		if _, ok := log.CommandFrom(ctx); !ok {
			fields = append(fields, zap.String(log.CommandKey, spec.Name))
		}
		fields = append(fields, zap.String("code", errs.CodeOf(err)))
		if acct != nil {
			fields = append(fields, zap.String("principal", acct.ID), zap.String("account_type", string(acct.Type)),
				zap.String("issuer", acct.Issuer))
		}
		if d != nil {
			fields = append(fields, zap.Stringer("reason", d.Reason))
			if rule.index >= 0 {
				fields = append(fields, zap.Int("rule", rule.index), zap.String("rule_resource", rule.resource))
			}
		}
		ce.Write(fields...)
	}
	if m.o.refused != nil {
		m.o.refused(ctx, spec, acct, err)
	}
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
