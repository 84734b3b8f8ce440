package fw

import (
	"context"
	"io/fs"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/transport"
)

// Option configures an [App].
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// Hook is a function run at a point of the application's lifecycle. A
// start hook that fails stops the start; stop hooks all run and their
// errors are joined.
type Hook func(ctx context.Context) error

type options struct {
	name            string
	catalog         *catalog.Catalog
	cfg             *config.Config
	cfgOpts         []config.Option
	logger          *zap.Logger
	bundle          *i18n.Bundle
	bundleOpts      []i18n.Option
	transports      []transport.Transport
	server, client  []middleware.Middleware
	chainsSet       bool
	middleware      []appMiddleware
	shutdownTimeout time.Duration
	signals         []os.Signal
	sections        []string
	beforeStart     []Hook
	afterStart      []Hook
	beforeStop      []Hook
	afterStop       []Hook
	onDeadLetter    func(context.Context, *events.DeadLetter)
}

// Name sets the application's name. Default: the app.name key of the
// configuration, else the program's base name.
func Name(name string) Option { return optionFunc(func(o *options) { o.name = name }) }

// Catalog sets the catalog the application serves and configures. Default:
// [catalog.Default].
func Catalog(c *catalog.Catalog) Option { return optionFunc(func(o *options) { o.catalog = c }) }

// WithConfig uses an already loaded configuration. Default: one loaded by
// [config.Load] with the options given to [ConfigOptions]. Either way, the
// configuration reports its reloads, and the changes it refuses, with the
// application's logger ([config.Config.SetLogger]).
func WithConfig(c *config.Config) Option { return optionFunc(func(o *options) { o.cfg = c }) }

// ConfigOptions are passed to [config.Load] when the application loads its
// configuration, for example config.FS(embedded) for built-in defaults.
// Without any, the configuration is optional: a missing file is fine. So it
// is with config.Defaults alone; naming a directory (config.Dir), an
// embedded file system (config.FS) or an environment (config.Env,
// WEGO_ENV) makes the environment's file required unless config.Optional
// is given too (see [config.Optional]), and [New] then fails with an error
// that names the paths it tried.
func ConfigOptions(opts ...config.Option) Option {
	return optionFunc(func(o *options) { o.cfgOpts = append(o.cfgOpts, opts...) })
}

// Logger sets the application's logger instead of building one from the
// log section of the configuration.
func Logger(l *zap.Logger) Option { return optionFunc(func(o *options) { o.logger = l }) }

// I18n sets the bundle that localizes error messages. Default: a bundle
// with the framework's messages and those given to [Messages].
func I18n(b *i18n.Bundle) Option { return optionFunc(func(o *options) { o.bundle = b }) }

// Messages adds the application's message files (TOML, JSON or YAML, one
// language per file) to the default bundle.
func Messages(fsys fs.FS, patterns ...string) Option {
	return optionFunc(func(o *options) { o.bundleOpts = append(o.bundleOpts, i18n.Files(fsys, patterns...)) })
}

// Transports adds transports to start, in order (they stop in reverse).
func Transports(ts ...transport.Transport) Option {
	return optionFunc(func(o *options) { o.transports = append(o.transports, ts...) })
}

// Chains sets the catalog's global server and client chains instead of
// building them from the configuration's middleware section. Default: the
// chains that middleware.server and middleware.client list, else
// [DefaultServerChain] and [DefaultClientChain] with the positions given
// to [Middleware].
func Chains(server, client []middleware.Middleware) Option {
	return optionFunc(func(o *options) {
		o.server, o.client, o.chainsSet = server, client, true
	})
}

// ShutdownTimeout bounds a graceful stop in [App.Run]. Default: the
// app.shutdown_timeout key, else 15s.
func ShutdownTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.shutdownTimeout = d })
}

// Signals sets the signals that make [App.Run] stop. Default: SIGINT and
// SIGTERM.
func Signals(sig ...os.Signal) Option {
	return optionFunc(func(o *options) { o.signals = sig })
}

// Sections declares top-level configuration sections that the application
// reads itself, so that they do not count as unknown keys.
func Sections(names ...string) Option {
	return optionFunc(func(o *options) { o.sections = append(o.sections, names...) })
}

// BeforeStart adds a hook run before the transports start.
func BeforeStart(h Hook) Option {
	return optionFunc(func(o *options) { o.beforeStart = append(o.beforeStart, h) })
}

// AfterStart adds a hook run once every transport has started.
func AfterStart(h Hook) Option {
	return optionFunc(func(o *options) { o.afterStart = append(o.afterStart, h) })
}

// BeforeStop adds a hook run before the transports stop.
func BeforeStop(h Hook) Option {
	return optionFunc(func(o *options) { o.beforeStop = append(o.beforeStop, h) })
}

// AfterStop adds a hook run after the transports have stopped.
func AfterStop(h Hook) Option {
	return optionFunc(func(o *options) { o.afterStop = append(o.afterStop, h) })
}
