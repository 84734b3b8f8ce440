package fw

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	wlog "github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/middleware/breaker"
	"github.com/wegomesh/wego/middleware/cache"
	"github.com/wegomesh/wego/middleware/faultinject"
	"github.com/wegomesh/wego/middleware/logging"
	"github.com/wegomesh/wego/middleware/newrelic"
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
//	recovery ─▶ requestid ─▶ newrelic ─▶ logging ─▶ audit ─▶ ratelimit ─▶ faultinject ─▶ validate ─▶ function
//
// Recovery is outermost so that a panic anywhere becomes an error; the
// request id comes next so that everything after it can log it; New Relic
// and logging measure everything inside them, rejections included; the
// rate limit rejects before any work; fault injection (off unless
// configured) stands where a failing command would; validation is next to
// the function. Middleware with nothing to do for a command — audit for a
// command not marked auditable, New Relic without a license key, fault
// injection when disabled — cost nothing for it.
var DefaultServerChain = []string{"recovery", "requestid", "newrelic", "logging", "audit", "ratelimit", "faultinject", "validate"}

// DefaultClientChain is the client chain an application runs when its
// configuration does not list one (middleware.client), outermost first:
//
//	cache ─▶ timeout ─▶ retry ─▶ breaker ─▶ newrelic ─▶ route
//
// A cache hit answers before anything else; the timeout bounds the whole
// call, retries included; each attempt passes the breaker; New Relic
// records an external segment per remote attempt.
var DefaultClientChain = []string{"cache", "timeout", "retry", "breaker", "newrelic"}

// Factory builds a middleware for an application. Register the
// application's own with [Middleware], then name them in the configuration's
// middleware.server or middleware.client lists.
type Factory func(a *App) (middleware.Middleware, error)

// Middleware makes a middleware available by name to the configuration's
// chain lists, or replaces a built-in one.
func Middleware(name string, f Factory) Option {
	return optionFunc(func(o *options) {
		if o.factories == nil {
			o.factories = map[string]Factory{}
		}
		o.factories[name] = f
	})
}

// section decodes middleware.name into T starting from defaults.
func section[T any](a *App, name string, defaults T) (T, error) {
	return config.GetWithDefaults(a.cfg, "middleware."+name, defaults)
}

// builtins are the built-in middleware, by the name the configuration uses.
func builtins() map[string]Factory {
	return map[string]Factory{
		"recovery": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "recovery", recovery.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return recovery.New(cfg, recovery.WithLogger(a.logger))
		},
		"requestid": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "requestid", requestid.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return requestid.New(cfg)
		},
		"logging": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "logging", logging.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return logging.New(cfg, logging.WithLogger(a.logger))
		},
		"audit": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "audit", audit.DefaultConfig())
			if err != nil {
				return nil, err
			}
			opts := []audit.Option{audit.WithLogger(a.logger)}
			if (cfg.Sink == "" || cfg.Sink == audit.SinkZap) && a.opts.logger == nil {
				// Audit records are not log lines that a level or a
				// sampler may drop: write them through a logger of their
				// own, like the application's but at info and unsampled.
				lc := a.logCfg
				lc.Level, lc.Sampling = "info", nil
				l, err := wlog.New(lc)
				if err != nil {
					return nil, err
				}
				opts = append(opts, audit.WithSink(audit.NewZapSink(l.With(zap.String("app", a.name)))))
			}
			m, err := audit.New(cfg, opts...)
			if err != nil {
				return nil, err
			}
			a.closers = append(a.closers, m)
			return m, nil
		},
		"newrelic": func(a *App) (middleware.Middleware, error) {
			if a.newrelic != nil {
				return a.newrelic, nil // one instance serves both chains
			}
			cfg, err := section(a, "newrelic", newrelic.DefaultConfig())
			if err != nil {
				return nil, err
			}
			if cfg.AppName == "" {
				cfg.AppName = a.name
			}
			m, err := newrelic.New(cfg, newrelic.WithLogger(a.logger))
			if err != nil {
				return nil, err
			}
			a.newrelic = m
			a.closers = append(a.closers, closerFunc(func() error { m.Shutdown(5 * time.Second); return nil }))
			return m, nil
		},
		"validate": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "validate", validate.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return validate.New(cfg)
		},
		"ratelimit": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "ratelimit", ratelimit.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return ratelimit.New(cfg)
		},
		"faultinject": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "faultinject", faultinject.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return faultinject.New(cfg)
		},
		"timeout": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "timeout", timeout.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return timeout.New(cfg)
		},
		"retry": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "retry", retry.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return retry.New(cfg)
		},
		"breaker": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "breaker", breaker.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return breaker.New(cfg, breaker.WithLogger(a.logger))
		},
		"cache": func(a *App) (middleware.Middleware, error) {
			cfg, err := section(a, "cache", cache.DefaultConfig())
			if err != nil {
				return nil, err
			}
			c, err := cache.New(cfg)
			if err != nil {
				return nil, err
			}
			a.cache = c
			return c, nil
		},
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// buildChains builds the server and client chains that the configuration
// lists, or the default ones, unless the Chains option set them.
func (a *App) buildChains() error {
	if a.opts.chainsSet {
		a.cat.SetChains(a.opts.server, a.opts.client)
		return nil
	}
	factories := builtins()
	for name, f := range a.opts.factories {
		factories[name] = f
	}

	// Every key under middleware is a chain list or a known middleware.
	var raw map[string]any
	if err := a.cfg.Section("middleware", &raw); err != nil {
		return err
	}
	for k := range raw {
		if k == "server" || k == "client" {
			continue
		}
		if _, ok := factories[k]; !ok {
			return &config.Error{Key: "middleware." + k, File: a.cfg.File(),
				Err: fmt.Errorf("unknown middleware (known: %s)", strings.Join(sortedKeys(factories), ", "))}
		}
	}

	server, err := a.chainList("server", DefaultServerChain)
	if err != nil {
		return err
	}
	client, err := a.chainList("client", DefaultClientChain)
	if err != nil {
		return err
	}
	build := func(side string, names []string) ([]middleware.Middleware, error) {
		mws := make([]middleware.Middleware, 0, len(names))
		for i, n := range names {
			f, ok := factories[n]
			if !ok {
				return nil, &config.Error{Key: fmt.Sprintf("middleware.%s[%d]", side, i), File: a.cfg.File(),
					Err: fmt.Errorf("unknown middleware %q (known: %s)", n, strings.Join(sortedKeys(factories), ", "))}
			}
			m, err := f(a)
			if err != nil {
				return nil, err
			}
			mws = append(mws, m)
		}
		return mws, nil
	}
	s, err := build("server", server)
	if err != nil {
		return err
	}
	c, err := build("client", client)
	if err != nil {
		return err
	}
	a.serverChain, a.clientChain = server, client
	a.cat.SetChains(s, c)
	return nil
}

// chainList returns middleware.<side> from the configuration, or def when
// it is not set. An empty list turns the chain off.
func (a *App) chainList(side string, def []string) ([]string, error) {
	key := "middleware." + side
	if !a.cfg.IsSet(key) {
		return slices.Clone(def), nil
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Chains returns the names of the middleware in the server and client
// chains that the application built from its configuration (nil when the
// Chains option set them).
func (a *App) Chains() (server, client []string) {
	return slices.Clone(a.serverChain), slices.Clone(a.clientChain)
}

// Cache returns the client cache middleware, for explicit invalidation, or
// nil when the client chain has none.
func (a *App) Cache() *cache.Cache { return a.cache }

var _ io.Closer = closerFunc(nil)
