package fw

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
	authmw "github.com/wegomesh/wego/middleware/auth"
	"github.com/wegomesh/wego/transport"
)

// AuthSection is the configuration section of authentication and
// authorization (see package auth): top level, not under middleware,
// because it is more than the middleware's settings — the service
// identity of the deployable and the client certificates of its
// transports live there too — and because its rules reload in place,
// without recomposing the chains: the middleware named "auth" reads it,
// and follows it while the application runs.
const AuthSection = "auth"

// ServiceAccountDep is the dependency through which commands reach the
// deployable's service account (auth.identity.account). [New] provides
// it in the application's catalog when the configuration names one;
// otherwise Get fails (wego.unknown_dependency). A command that calls
// another one in process as the service, rather than as its caller, puts
// it in the call's context:
//
//	if self, err := fw.ServiceAccountDep.Get(ctx); err == nil {
//		ctx = auth.NewContext(ctx, self)
//	}
//
// A remote call carries the service's credential anyway, unless the
// command is called on the caller's behalf (auth.identity.on_behalf).
var ServiceAccountDep = catalog.Dep[*auth.Account]("wego.service_account")

// Principal returns who makes a call, for audit records and the scope of
// idempotency keys: the id of the account that the authentication
// middleware found (auth.FromContext), else a principal set with
// audit.ContextWithPrincipal. It does not allocate. fw gives it to the
// audit and idempotency middleware it builds.
func Principal(ctx context.Context) (string, bool) {
	if p, ok := authmw.Principal(ctx); ok {
		return p, true
	}
	return audit.PrincipalFrom(ctx)
}

// appAuth is what an application keeps of its authentication middleware.
type appAuth struct {
	mw      atomic.Pointer[authMiddleware] // built by the application's factory
	auditor atomic.Pointer[audit.Auditor]  // the chains' auditor, for refused calls
	routes  []routeDesc                    // the routes section, for the middleware's log lines; set by New
}

// authMiddleware is the authentication middleware as fw builds it: it also
// extends the host with the propagator of credentials.
type authMiddleware struct {
	*authmw.Middleware
}

// ExtendHost adds the propagator that reads the Authorization header of
// each request served into its context and writes the credential of
// each remote call, when the middleware needs them (see
// authmw.Middleware.Propagates).
func (m *authMiddleware) ExtendHost(h *transport.Host) {
	if m.Propagates() {
		h.Propagators = append(h.Propagators, authPropagator{m.Middleware})
	}
}

// authPropagator carries credentials through the metadata of every
// transport: the Authorization header over HTTP, the header of the same
// name over NATS.
type authPropagator struct{ m *authmw.Middleware }

func (p authPropagator) Inject(ctx context.Context, md transport.Metadata) {
	if h := p.m.Outgoing(ctx); h != "" {
		md.Set(authmw.Header, h)
	}
}

func (p authPropagator) Extract(ctx context.Context, md transport.Metadata) context.Context {
	return authmw.WithAuthorization(ctx, md.Values(authmw.Header))
}

func init() {
	if err := register("auth", callerSite(1), true, buildAuth, watchAuth); err != nil {
		panic(err.Error()) // two built-ins with one name: a bug of fw
	}
}

// buildAuth builds the authentication middleware from the section auth,
// its rules on commands compiled against every command of the
// application's catalog; those on events are compiled when the
// application starts (see compileAuthEvents).
func buildAuth(a *App) (middleware.Middleware, error) {
	if a.cfg.IsSet("middleware.auth") {
		return nil, &config.Error{Key: "middleware.auth", File: a.cfg.File(),
			Err: errors.New("the auth middleware reads the top-level section auth: move these keys there")}
	}
	cfg, err := config.GetWithDefaults(a.cfg, AuthSection, auth.DefaultConfig())
	if err != nil {
		return nil, err
	}
	var resources []auth.Resource
	for _, e := range a.cat.Commands() {
		if e.Spec().Kind != middleware.Event { // topics and subscribers: compiled at start (compileAuthEvents)
			resources = append(resources, authmw.ResourceOf(e.Spec()))
		}
	}
	m, err := authmw.New(cfg, resources, authmw.WithLogger(a.logger), authmw.WithRefused(a.authRefused),
		authmw.WithEvents(eventEntry), authmw.WithRoutes(a.routeOf))
	if err != nil {
		return nil, a.authError(err)
	}
	am := &authMiddleware{m}
	a.auth.mw.Store(am)
	if acct := m.ServiceAccount(); acct != nil {
		if _, err := catalog.ReplaceDep(a.cat, ServiceAccountDep, acct); err != nil {
			if _, err := catalog.ProvideIn(a.cat, ServiceAccountDep.Name(), acct); err != nil {
				return nil, fmt.Errorf("fw: provide the service account as %s: %w", ServiceAccountDep.Name(), err)
			}
		}
	}
	return am, nil
}

// authError puts the keys of err under the section auth, in the
// configuration's file.
func (a *App) authError(err error) error {
	err = config.Under(AuthSection, err)
	var out []error
	for _, e := range flatten(err) {
		if ce, ok := errors.AsType[*config.Error](e); ok && ce.File == "" && ce.Source == "" {
			cp := *ce
			cp.File = a.cfg.File()
			e = &cp
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// flatten returns the errors joined in err, recursively.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// watchAuth follows the section auth while the application runs: a change
// puts new rules, keys and identities in force at once, without
// recomposing the chains (see authmw.Middleware.Reload). A change that the
// configuration refuses (it does not decode or validate) is logged by it;
// one whose rules reach no command is logged here, and the middleware
// keeps its settings.
func watchAuth(a *App, _ func(middleware.Middleware)) (func(), error) {
	first := true // Watch delivers the current settings first: built already
	return config.Watch(a.cfg, AuthSection, auth.DefaultConfig(), func(cfg auth.Config) {
		if first {
			first = false
			return
		}
		m := a.auth.mw.Load()
		if m == nil {
			return
		}
		switch err := m.Reload(cfg); {
		case err == nil:
			a.logger.Info("auth: settings changed", zap.String("key", AuthSection), zap.Int("rules", len(cfg.Rules)))
		case errors.Is(err, authmw.ErrRestartNeeded):
			a.logger.Warn("auth: settings changed; some take effect at the next start", zap.String("key", AuthSection), zap.Error(err))
		default:
			a.logger.Error("configuration change refused: auth keeps its settings",
				zap.String("key", AuthSection), zap.Error(a.authError(err)))
		}
	})
}

// authRefused writes the audit record of a call that the authentication
// middleware refused, when the chains have an auditor that audits the
// command.
func (a *App) authRefused(ctx context.Context, spec *middleware.Spec, acct *auth.Account, err error) {
	au := a.auth.auditor.Load()
	if au == nil {
		return
	}
	principal := ""
	if acct != nil {
		principal = acct.ID
	}
	_ = au.Refused(ctx, spec, principal, err) // a failure is counted and logged by the auditor
}

// noteAuditor records the chains' auditor, for authRefused; called when
// the chains are built and when a middleware is swapped.
func (a *App) noteAuditor() {
	for _, b := range a.built {
		if au, ok := b.m.(*audit.Auditor); ok && b.name == "audit" {
			a.auth.auditor.Store(au)
			return
		}
	}
	a.auth.auditor.Store(nil)
}

// checkAuthChains fails when auth is on but the server chain does not run
// the middleware, or when the deployable has a service identity but the
// client chain does not run it: a configured chain list that forgot it
// would otherwise let every call through, send the service's credential
// where the caller's was meant (identity.on_behalf), or answer a caller
// with the refusal of a call the service made as itself.
func (a *App) checkAuthChains(server, client []string) error {
	cfg, err := config.GetWithDefaults(a.cfg, AuthSection, auth.DefaultConfig())
	if err != nil {
		return err
	}
	if cfg.Enabled && !slices.Contains(server, "auth") {
		return &config.Error{Key: "middleware.server", File: a.cfg.File(),
			Err: errors.New("auth.enabled is true but the server chain does not run auth: add it, right after requestid")}
	}
	switch {
	case slices.Contains(client, "auth"):
	case len(cfg.Identity.OnBehalf) > 0:
		return &config.Error{Key: "middleware.client", File: a.cfg.File(),
			Err: errors.New("auth.identity.on_behalf is set but the client chain does not run auth: add it, last")}
	case cfg.Identity.Account != "":
		return &config.Error{Key: "middleware.client", File: a.cfg.File(),
			Err: errors.New("auth.identity is set but the client chain does not run auth, which turns a refusal of the service's own call into auth.service_refused: add it, last")}
	}
	return nil
}

// logAuth says, at start, what the authentication middleware enforces: one
// line, with the commands served here that no rule reaches (nobody can
// call them), and the topics and subscribers that no rule reaches (nobody
// may publish on them, and their events are refused).
func (a *App) logAuth() {
	m := a.auth.mw.Load()
	if m == nil || !m.Enabled() {
		return
	}
	t := m.Table()
	var unreached []string
	for _, name := range t.Unreached() {
		if e, ok := a.cat.Entry(name); ok && e.Local() && !e.Routed() {
			unreached = append(unreached, name)
		}
	}
	fields := []zap.Field{zap.Int("commands", len(t.Resources()))}
	if et := m.EventTable(); et != nil {
		unreached = append(unreached, et.Unreached()...)
		fields = append(fields, zap.Int("events", len(et.Resources())))
	}
	if acct := m.ServiceAccount(); acct != nil {
		fields = append(fields, zap.String("service_account", acct.ID))
	}
	if len(unreached) == 0 {
		a.logger.Info("auth: on; every command served here, topic and subscriber is reached by a rule", fields...)
		return
	}
	a.logger.Warn("auth: on; no rule reaches these commands, which nobody can call, nor these topics and subscribers, whose events are refused",
		append(fields, zap.Strings("unreached", unreached))...)
}
