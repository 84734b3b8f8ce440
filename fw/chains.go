package fw

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	wlog "github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/middleware/breaker"
	"github.com/wegomesh/wego/middleware/cache"
	"github.com/wegomesh/wego/middleware/faultinject"
	"github.com/wegomesh/wego/middleware/idempotency"
	"github.com/wegomesh/wego/middleware/logging"
	"github.com/wegomesh/wego/middleware/ratelimit"
	"github.com/wegomesh/wego/middleware/recovery"
	"github.com/wegomesh/wego/middleware/requestid"
	"github.com/wegomesh/wego/middleware/retry"
	"github.com/wegomesh/wego/middleware/timeout"
	"github.com/wegomesh/wego/middleware/validate"
)

// DefaultServerChain is the server chain an application runs when its
// configuration does not list one (middleware.server), outermost first:
//
//	recovery ─▶ requestid ─▶ auth ─▶ newrelic ─▶ logging ─▶ deadline ─▶ audit ─▶ ratelimit ─▶ faultinject ─▶ validate ─▶ idempotency ─▶ function
//
// Recovery is outermost so that a panic anywhere becomes an error; the
// request id comes next so that everything after it can log it;
// authentication follows at once, so that a call that may not proceed
// costs nothing more (it logs and audits its refusals itself); New Relic
// and logging measure everything inside them, rejections included; the
// deadline refuses a call whose caller has gone or whose deadline has
// passed, and detaches the commands that run to completion from their
// caller (timeout.RunToCompletion); the rate limit rejects before any work; fault injection (off unless
// configured) stands where a failing command would; validation comes next;
// idempotency is innermost, so that only a request that passed every check
// reserves its key and what it stores is the function's own answer — a
// rejected request can be corrected and sent again with the same key, and
// a replay is still logged, audited and rate limited like any call — and
// it runs inside the deadline, so that a command that runs to completion
// stores its outcome even when its caller has gone. Middleware with
// nothing to do for a command — audit for a command not marked auditable,
// New Relic without a license key, fault injection when disabled,
// idempotency for a command that does not accept keys — cost nothing for
// it.
//
// New Relic is linked only into programs that import package fw/newrelic;
// without it, the chains skip newrelic, unless the configuration turns New
// Relic on: [New] then fails with [ErrNotLinked], naming the import.
var DefaultServerChain = []string{"recovery", "requestid", "auth", "newrelic", "logging", "deadline", "audit", "ratelimit", "faultinject", "validate", "idempotency"}

// DefaultClientChain is the client chain an application runs when its
// configuration does not list one (middleware.client), outermost first:
//
//	cache ─▶ timeout ─▶ retry ─▶ breaker ─▶ newrelic ─▶ auth ─▶ route
//
// A cache hit answers before anything else; the timeout bounds the whole
// call, retries included; each attempt passes the breaker; New Relic
// records an external segment per remote attempt; auth makes the remote
// calls of commands called on their caller's behalf carry the caller's
// credential (auth.identity.on_behalf), and adds nothing otherwise.
var DefaultClientChain = []string{"cache", "timeout", "retry", "breaker", "newrelic", "auth"}

// The built-in middleware, by the name the configuration uses. Each reads
// its section, middleware.<name>, into its Config.
func init() {
	builtin("recovery", recovery.DefaultConfig, func(a *App, c recovery.Config) (middleware.Middleware, error) {
		return recovery.New(c, recovery.WithLogger(a.logger))
	})
	builtin("requestid", requestid.DefaultConfig, func(_ *App, c requestid.Config) (middleware.Middleware, error) {
		return requestid.New(c)
	})
	builtin("logging", logging.DefaultConfig, func(a *App, c logging.Config) (middleware.Middleware, error) {
		return logging.New(c, logging.WithLogger(a.logger))
	})
	builtin("audit", audit.DefaultConfig, newAudit)
	builtin("ratelimit", ratelimit.DefaultConfig, func(_ *App, c ratelimit.Config) (*ratelimit.Limiter, error) {
		return ratelimit.New(c)
	})
	builtin("faultinject", faultinject.DefaultConfig, func(_ *App, c faultinject.Config) (*faultinject.Injector, error) {
		return faultinject.New(c)
	})
	builtin("validate", validate.DefaultConfig, func(_ *App, c validate.Config) (*validate.Middleware, error) {
		return validate.New(c)
	})
	builtin("idempotency", idempotency.DefaultConfig, func(a *App, c idempotency.Config) (*idempotency.Middleware, error) {
		return idempotency.New(c, idempotency.WithLogger(a.logger), idempotency.WithPrincipal(Principal))
	})
	builtin("cache", cache.DefaultConfig, func(_ *App, c cache.Config) (*cache.Cache, error) {
		return cache.New(c)
	})
	builtin("timeout", timeout.DefaultConfig, func(_ *App, c timeout.Config) (middleware.Middleware, error) {
		return timeout.New(c)
	})
	builtin("deadline", timeout.DefaultDeadlineConfig, func(_ *App, c timeout.DeadlineConfig) (middleware.Middleware, error) {
		return timeout.Deadline(c)
	})
	builtin("retry", retry.DefaultConfig, func(_ *App, c retry.Config) (middleware.Middleware, error) {
		return retry.New(c)
	})
	builtin("breaker", breaker.DefaultConfig, func(a *App, c breaker.Config) (*breaker.Breaker, error) {
		return breaker.New(c, breaker.WithLogger(a.logger))
	})
}

// newAudit builds the audit middleware. Audit records are not log lines
// that a level or a sampler may drop: unless the application was given its
// logger, they go through a logger of their own, like the application's
// but at info and unsampled.
func newAudit(a *App, cfg audit.Config) (*audit.Auditor, error) {
	opts := []audit.Option{audit.WithLogger(a.logger), audit.WithPrincipal(Principal)}
	if (cfg.Sink == "" || cfg.Sink == audit.SinkZap) && a.opts.logger == nil {
		lc := a.logCfg
		lc.Level, lc.Sampling = "info", nil
		l, err := wlog.New(lc)
		if err != nil {
			return nil, err
		}
		opts = append(opts, audit.WithSink(audit.NewZapSink(l.With(zap.String("app", a.name)))))
	}
	return audit.New(cfg, opts...)
}

// Factory builds a middleware for an application. It is called once per
// application, however many chains name the middleware; the result serves
// every chain that does. When the middleware implements [io.Closer], the
// application closes it when it stops.
type Factory func(a *App) (middleware.Middleware, error)

// A Position says where [Middleware] adds a middleware to the default
// chains: next to the middleware it names, in each default chain that
// holds that one. Make one with [Before] or [After].
type Position struct {
	anchor string
	after  bool
}

// Before places a middleware right before the middleware named anchor:
// outside it, so that it sees the call first and the result last.
func Before(anchor string) Position { return Position{anchor: anchor} }

// After places a middleware right after the middleware named anchor:
// inside it, closer to the function (server side) or the route (client
// side).
func After(anchor string) Position { return Position{anchor: anchor, after: true} }

// String returns the position as it is written in Go: fw.After("logging").
func (p Position) String() string {
	if p.after {
		return "fw.After(" + strconv.Quote(p.anchor) + ")"
	}
	return "fw.Before(" + strconv.Quote(p.anchor) + ")"
}

// appMiddleware is a middleware given to the Middleware option.
type appMiddleware struct {
	name string
	f    Factory
	at   []Position
}

// Middleware makes a middleware available by name to this application, and
// replaces a built-in or registered one of the same name. With positions,
// it joins the default chains: fw.Middleware("counter", f,
// fw.After("logging")) runs counter right inside logging in the default
// server chain, and a middleware placed next to "newrelic", which both
// default chains hold, joins both; give several positions to place it in
// both chains at different spots. Positions apply in the order of the
// options, so a position may name a middleware placed by an earlier one.
// [New] fails when a position names a middleware that no default chain
// holds.
//
// A chain that the configuration lists (middleware.server,
// middleware.client) is the whole chain: positions do not change it, and
// the middleware runs there only when the list names it. The application
// logs a warning at start-up, naming them, for middleware given to this
// option or registered by an imported package that no chain uses.
func Middleware(name string, f Factory, at ...Position) Option {
	return optionFunc(func(o *options) {
		o.middleware = slices.DeleteFunc(o.middleware, func(m appMiddleware) bool { return m.name == name })
		o.middleware = append(o.middleware, appMiddleware{name: name, f: f, at: slices.Clone(at)})
	})
}

// built is a middleware that an application built, under its name.
type built struct {
	name string
	m    middleware.Middleware
}

// buildChains builds the server and client chains that the configuration
// lists, or the default ones with the Middleware positions applied, unless
// the Chains option set them.
func (a *App) buildChains() error {
	factories := map[string]Factory{}
	watchers := map[string]watcher{}
	registeredHere := map[string]bool{} // given to Middleware or registered by a package: warn when unused
	for name, d := range registered() {
		factories[name] = d.build
		watchers[name] = d.watch
		if !d.builtin {
			registeredHere[name] = true
		}
	}
	for _, m := range a.opts.middleware {
		if err := checkName(m.name); err != nil {
			return fmt.Errorf("fw: Middleware: %w", err)
		}
		if m.f == nil {
			return fmt.Errorf("fw: Middleware(%q): nil factory", m.name)
		}
		factories[m.name] = m.f
		delete(watchers, m.name) // built by the application's own factory: not followed
		registeredHere[m.name] = true
	}
	if a.opts.chainsSet {
		a.cat.SetChains(a.opts.server, a.opts.client)
		a.unused = sortedNames(registeredHere)
		return nil
	}

	// Every key under middleware is a chain list or a known middleware.
	var raw map[string]any
	if err := a.cfg.Section("middleware", &raw); err != nil {
		return err
	}
	known := func() string {
		names := sortedNames(factories)
		for n := range elsewhere {
			if _, ok := factories[n]; !ok {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return strings.Join(names, ", ")
	}
	for k := range raw {
		if k == "server" || k == "client" {
			continue
		}
		if _, ok := factories[k]; !ok {
			if _, ok := elsewhere[k]; !ok {
				return &config.Error{Key: "middleware." + k, File: a.cfg.File(),
					Err: fmt.Errorf("unknown middleware (known: %s)", known())}
			}
		}
	}

	server, client, err := a.defaultChains()
	if err != nil {
		return err
	}
	if server, err = a.chainList("server", server); err != nil {
		return err
	}
	if client, err = a.chainList("client", client); err != nil {
		return err
	}

	byName := map[string]middleware.Middleware{}
	build := func(side string, names []string) ([]middleware.Middleware, []string, error) {
		mws := make([]middleware.Middleware, 0, len(names))
		kept := make([]string, 0, len(names))
		for i, n := range names {
			if m, ok := byName[n]; ok {
				mws, kept = append(mws, m), append(kept, n)
				continue
			}
			f, ok := factories[n]
			if !ok {
				if e, ok := elsewhere[n]; ok {
					if key, on := e.on(a.cfg); on {
						return nil, nil, a.linkError(n, key)
					}
					continue // not linked, and off: skipped
				}
				return nil, nil, &config.Error{Key: fmt.Sprintf("middleware.%s[%d]", side, i), File: a.cfg.File(),
					Err: fmt.Errorf("unknown middleware %q (known: %s)", n, known())}
			}
			m, err := f(a)
			if err == nil && m == nil {
				err = errors.New("the factory returned no middleware")
			}
			if err != nil {
				var ce *config.Error
				if !errors.As(err, &ce) {
					err = fmt.Errorf("fw: middleware %q: %w", n, err)
				}
				return nil, nil, err
			}
			byName[n] = m
			a.built = append(a.built, built{name: n, m: m})
			mws, kept = append(mws, m), append(kept, n)
		}
		return mws, kept, nil
	}
	s, serverNames, err := build("server", server)
	if err != nil {
		a.closeMiddleware()
		return err
	}
	c, clientNames, err := build("client", client)
	if err != nil {
		a.closeMiddleware()
		return err
	}
	if err := a.checkAuthChains(serverNames, clientNames); err != nil {
		a.closeMiddleware()
		return err
	}
	a.serverChain, a.clientChain = serverNames, clientNames
	a.liveServer, a.liveClient = s, c
	a.noteAuditor()
	a.cat.SetChains(s, c)
	for n := range byName {
		if w := watchers[n]; w != nil {
			stop, err := w(a, func(m middleware.Middleware) { a.swapMiddleware(n, m) })
			if err != nil {
				a.closeMiddleware()
				return err
			}
			a.chainMu.Lock()
			a.watches = append(a.watches, stop)
			a.chainMu.Unlock()
		}
	}
	for n := range registeredHere {
		if _, ok := byName[n]; ok {
			delete(registeredHere, n)
		}
	}
	a.unused = sortedNames(registeredHere)
	return nil
}

// defaultChains returns the default chains with the positions of the
// Middleware options applied.
func (a *App) defaultChains() (server, client []string, err error) {
	server, client = slices.Clone(DefaultServerChain), slices.Clone(DefaultClientChain)
	chains := []struct {
		side  string
		names *[]string
	}{{"server", &server}, {"client", &client}}
	for _, m := range a.opts.middleware {
		for _, p := range m.at {
			if p.anchor == "" {
				return nil, nil, fmt.Errorf("fw: Middleware(%q): a position without a middleware name", m.name)
			}
			found := false
			for _, ch := range chains {
				i := slices.Index(*ch.names, p.anchor)
				if i < 0 {
					continue
				}
				found = true
				if slices.Contains(*ch.names, m.name) {
					return nil, nil, fmt.Errorf("fw: Middleware(%q, %v): %q is already in the default %s chain (%s)",
						m.name, p, m.name, ch.side, strings.Join(*ch.names, ", "))
				}
				if p.after {
					i++
				}
				*ch.names = slices.Insert(*ch.names, i, m.name)
			}
			if !found {
				return nil, nil, fmt.Errorf("fw: Middleware(%q, %v): no default chain has %q (server: %s; client: %s)",
					m.name, p, p.anchor, strings.Join(server, ", "), strings.Join(client, ", "))
			}
		}
	}
	return server, client, nil
}

// chainList returns middleware.<side> from the configuration, or def when
// it is not set. An empty list turns the chain off.
func (a *App) chainList(side string, def []string) ([]string, error) {
	key := "middleware." + side
	if !a.cfg.IsSet(key) {
		return def, nil
	}
	names, err := config.Get[[]string](a.cfg, key)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			return nil, &config.Error{Key: fmt.Sprintf("%s[%d]", key, i), File: a.cfg.File(), Err: fmt.Errorf("%q listed twice", n)}
		}
		seen[n] = true
	}
	return names, nil
}

// swapMiddleware puts m, built from new settings, in the place of the
// middleware named name in both chains, and recomposes every command:
// calls under way finish with the chains they started with. The
// middleware it replaces is closed when the application stops, since
// calls under way may still use it. Once the application has closed its
// middleware, which a change whose build was under way may follow,
// swapMiddleware closes m instead.
func (a *App) swapMiddleware(name string, m middleware.Middleware) {
	a.chainMu.Lock()
	defer a.chainMu.Unlock()
	if a.chainsClosed {
		a.closeBuilt(built{name: name, m: m})
		return
	}
	replace := func(names []string, mws []middleware.Middleware) []middleware.Middleware {
		out := slices.Clone(mws)
		for i, n := range names {
			if n == name {
				out[i] = m
			}
		}
		return out
	}
	a.liveServer = replace(a.serverChain, a.liveServer)
	a.liveClient = replace(a.clientChain, a.liveClient)
	for i, b := range a.built {
		if b.name == name {
			a.retired = append(a.retired, b)
			a.built[i].m = m
		}
	}
	a.noteAuditor()
	a.cat.SetChains(a.liveServer, a.liveClient)
	a.logger.Info("middleware settings changed", zap.String("middleware", name), zap.String("key", "middleware."+name))
}

// closeMiddleware ends the watches of the middleware sections and
// closes, in the reverse order of their building, the middleware that
// implement io.Closer. It holds chainMu throughout, so that a change
// either swaps its middleware in before, to be closed here, or finds the
// chains closed after.
func (a *App) closeMiddleware() {
	a.chainMu.Lock()
	defer a.chainMu.Unlock()
	for _, stop := range a.watches {
		stop()
	}
	a.watches = nil
	a.chainsClosed = true
	a.built = append(a.retired, a.built...)
	a.retired = nil
	for i := len(a.built) - 1; i >= 0; i-- {
		a.closeBuilt(a.built[i])
	}
	a.built = nil
}

// closeBuilt closes b's middleware when it implements io.Closer.
func (a *App) closeBuilt(b built) {
	if c, ok := b.m.(io.Closer); ok {
		if err := c.Close(); err != nil {
			a.logger.Error("closing middleware", zap.String("middleware", b.name), zap.Error(err))
		}
	}
}

// ChainNames returns the names of the middleware in the server and client
// chains that the application built from its configuration, without those
// it skipped (newrelic when it is not linked); nil when the [Chains] option
// set the chains, whose middleware have no names. The middleware themselves
// are the catalog's ([catalog.Catalog.Chains]).
func (a *App) ChainNames() (server, client []string) {
	return slices.Clone(a.serverChain), slices.Clone(a.clientChain)
}

// Cache returns the client cache middleware, for explicit invalidation, or
// nil when no chain has the built-in one.
func (a *App) Cache() *cache.Cache {
	for _, b := range a.built {
		if c, ok := b.m.(*cache.Cache); ok && b.name == "cache" {
			return c
		}
	}
	return nil
}
