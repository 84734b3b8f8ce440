// Package newrelic links New Relic into WeGO applications. Import it for
// its side effect in the program's main package:
//
//	import _ "github.com/wegomesh/wego/fw/newrelic"
//
// Its init function registers the middleware "newrelic" with package fw,
// which the default chains name: the application then builds it from the
// configuration section middleware.newrelic (see package
// middleware/newrelic for the keys; app_name defaults to the
// application's name), reports each served call as a
// transaction and each remote attempt as an external segment, starts a web
// transaction around each command's request that its transports serve,
// adds trace headers to the requests of remote routes, and shuts the agent
// down when it stops. Without a license key it does nothing and costs nothing.
//
// A program that does not import this package links neither the New Relic
// agent nor its dependencies (gRPC among them); its chains skip newrelic,
// and a configuration that turns New Relic on fails start-up with an error
// naming this import (fw.ErrNotLinked).
package newrelic

import (
	"errors"
	"time"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/middleware"
	nrmw "github.com/wegomesh/wego/middleware/newrelic"
	"github.com/wegomesh/wego/transport"
)

// shutdownTimeout bounds how long an application that stops waits for the
// agent to send what it holds.
const shutdownTimeout = 5 * time.Second

func init() {
	fw.RegisterMiddleware("newrelic", defaults, build(nil))
}

// section is the configuration as read from middleware.newrelic: the
// middleware's Config without its Validate method, so that build can give
// app_name its default, the application's name, before New validates it.
type section nrmw.Config

func defaults() section { return section(nrmw.DefaultConfig()) }

// Factory returns a factory that builds the New Relic middleware from the
// section middleware.newrelic, like the registered one, with options of
// package middleware/newrelic added, such as agent options. Give it to
// fw.Middleware to replace the registered one in an application:
//
//	labels := nr.ConfigLabels(map[string]string{"team": "orders"})
//	fw.Middleware("newrelic", newrelic.Factory(nrmw.AgentOptions(labels)))
func Factory(opts ...nrmw.Option) fw.Factory {
	b := build(opts)
	return func(a *fw.App) (middleware.Middleware, error) {
		cfg, err := config.GetWithDefaults(a.Config(), nrmw.Section, defaults())
		if err != nil {
			return nil, err
		}
		return b(a, cfg)
	}
}

// build returns the constructor of the middleware: New with the
// application's logger and opts, app_name defaulting to the application's
// name.
func build(opts []nrmw.Option) func(a *fw.App, s section) (middleware.Middleware, error) {
	return func(a *fw.App, s section) (middleware.Middleware, error) {
		cfg := nrmw.Config(s)
		if cfg.AppName == "" {
			cfg.AppName = a.Name()
		}
		all := append([]nrmw.Option{nrmw.WithLogger(a.Logger())}, opts...)
		m, err := nrmw.New(cfg, all...)
		if err != nil {
			var ce *config.Error
			if errors.As(err, &ce) && ce.File == "" {
				ce.File = a.Config().File()
			}
			return nil, err
		}
		return &linked{m}, nil
	}
}

// linked is the middleware as an application uses it: one instance serves
// both chains, extends the host of the transports, and is closed when the
// application stops.
type linked struct{ *nrmw.Middleware }

// ExtendHost adds web transactions that continue the caller's trace to
// the servers of every transport, and trace headers to the requests of
// remote routes, when the agent is on.
func (l *linked) ExtendHost(h *transport.Host) {
	app := l.Application()
	if app == nil {
		return
	}
	h.ServerHooks = append(h.ServerHooks, ServerHook(app))
	h.Propagators = append(h.Propagators, Propagator{})
}

// Close sends what the agent holds and stops it, waiting at most
// five seconds.
func (l *linked) Close() error {
	l.Shutdown(shutdownTimeout)
	return nil
}

var _ fw.HostExtender = (*linked)(nil)
