package fw

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/i18n"
	wlog "github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/registry"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/transport"
)

// Lifecycle errors.
var (
	// ErrAlreadyStarted: Start was called on an application that started.
	ErrAlreadyStarted = errors.New("fw: application already started")
	// ErrNotStarted: Stop was called on an application that never started.
	ErrNotStarted = errors.New("fw: application not started")
	// ErrStopped: Start or Stop was called on an application that stopped;
	// an App runs once.
	ErrStopped = errors.New("fw: application already stopped")
)

// AppConfig is the app section of the configuration.
type AppConfig struct {
	// Name is the application's name. Default: the program's base name.
	Name string `mapstructure:"name"`
	// ShutdownTimeout bounds a graceful stop. Default: 15s.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
}

// Validate checks the section.
func (c *AppConfig) Validate() error {
	if c.ShutdownTimeout <= 0 {
		return config.Errorf("shutdown_timeout", "must be positive, got %v", c.ShutdownTimeout)
	}
	return nil
}

// DynamicConfig is the config section: where the application's dynamic
// configuration lives.
type DynamicConfig struct {
	// KV is the NATS key-value bucket whose keys are laid over the files
	// and the environment variables while the application runs, such as
	// "wego-config" (the variable WEGO_CONFIG_KV sets it too). The bucket
	// is created when it does not exist. It needs the NATS engine (import
	// github.com/wegomesh/wego/transport/nats). Default: none.
	KV string `mapstructure:"kv"`
}

// configSourcer is an engine that keeps configuration: the NATS engine,
// whose key-value buckets do.
type configSourcer interface {
	ConfigSource(bucket string) (config.Source, error)
}

// DefaultShutdownTimeout is the shutdown timeout when neither the option
// nor the configuration sets one.
const DefaultShutdownTimeout = 15 * time.Second

type state int

const (
	stateNew state = iota
	stateStarting
	stateRunning
	stateStopping
	stateStopped
)

// App is a WeGO application. Build one with [New]; an App runs once.
type App struct {
	opts     options
	name     string
	cfg      *config.Config
	logger   *zap.Logger
	bundle   *i18n.Bundle
	cat      *catalog.Catalog
	shutdown time.Duration

	logCfg                   wlog.Config
	serverChain, clientChain []string
	built                    []built  // the chains' middleware, in the order built
	unused                   []string // registered middleware that no chain uses

	clients transport.Clients // of the routes: each App owns its own
	engine  transport.Engine  // made from configuration, or nil
	source  config.Source     // the config.kv bucket, or nil
	reg     registry.Registry // made from configuration
	regKind string

	store     store.Store // made from configuration (see store.go)
	storeKind string

	eventsCfg events.Config // see events.go
	bus       *events.Bus

	node       registry.Node // the application's own node, once registered
	registered bool

	mu         sync.Mutex
	state      state
	started    []transport.Transport
	undoLogger func()
	stopLevel  func() // ends the logger's watch of log.level; nil with a Logger option

	// The chains as they run: the middleware sections are followed while
	// the application runs (swapMiddleware), under chainMu.
	chainMu                sync.Mutex
	liveServer, liveClient []middleware.Middleware
	retired                []built  // replaced by a change of settings; closed at stop
	watches                []func() // stop the watches of the middleware sections
	chainsClosed           bool     // the middleware are closed: a change builds none into the chains

	auth appAuth // the authentication middleware (see auth.go)
}

// KnownSections are the top-level configuration keys that fw reads itself,
// besides one per transport (named after it) and those declared with
// [Sections].
var KnownSections = []string{"app", "config", "log", "routes", "middleware", "http_client", "registry", "store", "events", AuthSection}

// New builds an application from its options and configuration. It loads
// and validates the configuration (an unknown top-level key, a wrong type
// or an invalid value fails with a *config.Error naming the key and the
// file), builds the logger and the i18n bundle, sets the catalog's chains
// and applies the routes of the configuration. It starts nothing.
func New(opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	a := &App{opts: o, cat: o.catalog}
	if a.cat == nil {
		a.cat = catalog.Default
	}

	a.cfg = o.cfg
	if a.cfg == nil {
		copts := o.cfgOpts
		if len(copts) == 0 {
			copts = []config.Option{config.Optional()}
		}
		cfg, err := config.Load(copts...)
		if err != nil {
			return nil, err
		}
		a.cfg = cfg
	}

	known := slices.Clone(KnownSections)
	for _, t := range o.transports {
		known = append(known, t.Name())
		if s, ok := t.(interface{ Sections() []string }); ok {
			known = append(known, s.Sections()...)
		}
	}
	known = append(known, transport.EngineNames()...)
	if a.cfg.IsSet("nats") && !slices.Contains(known, "nats") {
		return nil, &config.Error{Key: "nats", File: a.cfg.File(),
			Err: errors.New("the NATS engine is not linked: import github.com/wegomesh/wego/transport/nats")}
	}
	known = append(known, o.sections...)
	if err := a.cfg.CheckKnown(known...); err != nil {
		return nil, err
	}

	appCfg, err := config.GetWithDefaults(a.cfg, "app", AppConfig{ShutdownTimeout: DefaultShutdownTimeout})
	if err != nil {
		return nil, err
	}
	a.name = firstNonEmpty(o.name, appCfg.Name, filepath.Base(os.Args[0]))
	a.shutdown = appCfg.ShutdownTimeout
	if o.shutdownTimeout > 0 {
		a.shutdown = o.shutdownTimeout
	}

	logCfg, err := config.GetWithDefaults(a.cfg, "log", wlog.DefaultConfig())
	if err != nil {
		return nil, err // validated even when a Logger option replaces it
	}
	a.logCfg = logCfg
	a.logger = o.logger
	if a.logger == nil {
		if a.logger, err = a.newLogger(logCfg); err != nil {
			return nil, err
		}
	}
	a.logger = a.logger.With(zap.String("app", a.name))
	a.cfg.SetLogger(a.logger) // its reloads, and the changes it refuses, show

	a.bundle = o.bundle
	if a.bundle == nil {
		if a.bundle, err = i18n.New(o.bundleOpts...); err != nil {
			return nil, err
		}
	}

	dyn, err := config.Get[DynamicConfig](a.cfg, "config")
	if err != nil {
		return nil, err
	}
	if err := a.readEvents(); err != nil {
		return nil, err
	}
	if err := a.makeEngine(dyn.KV != ""); err != nil {
		return nil, err
	}
	if err := a.makeSource(dyn.KV); err != nil {
		return nil, err
	}
	if err := a.makeRegistry(); err != nil {
		return nil, err
	}
	if err := a.buildChains(); err != nil {
		return nil, err
	}
	if err := a.checkBudgets(); err != nil {
		a.closeMiddleware()
		return nil, err
	}
	if err := a.applyRoutes(); err != nil {
		_ = a.clients.Close() // idle connections only: nothing to report
		a.closeMiddleware()
		return nil, err
	}
	if err := a.makeEvents(); err != nil {
		_ = a.clients.Close()
		a.closeMiddleware()
		return nil, err
	}
	if err := a.makeStore(); err != nil { // last: nothing after it fails
		_ = a.clients.Close()
		a.closeMiddleware()
		return nil, err
	}
	return a, nil
}

// newLogger builds the application's logger from the log section, at a
// level that follows log.level while the application runs (a change of the
// file or of the configuration bucket); the other keys of the section
// apply at the next start.
func (a *App) newLogger(cfg wlog.Config) (*zap.Logger, error) {
	level := zap.NewAtomicLevelAt(zapLevel(cfg.Level))
	all := cfg
	all.Level = "debug" // the lowest: level filters
	logger, err := wlog.New(all, zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		f, err := zapcore.NewIncreaseLevelCore(c, level)
		if err != nil {
			return c // not reached: level is never below debug
		}
		return f
	}))
	if err != nil {
		return nil, err
	}
	stop, err := config.Watch(a.cfg, wlog.Section, cfg, func(c wlog.Config) {
		l, prev := zapLevel(c.Level), level.Level()
		if l == prev {
			return
		}
		// Said at the more verbose of the two levels, so that it shows.
		if prev > l {
			level.SetLevel(l)
		}
		a.logger.Info("log level changed", zap.Stringer("level", l), zap.Stringer("was", prev))
		level.SetLevel(l)
	})
	if err != nil {
		return nil, err
	}
	a.stopLevel = stop
	return logger, nil
}

// zapLevel returns the level of a valid log.level; "" is info.
func zapLevel(s string) zapcore.Level {
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return zapcore.InfoLevel
	}
	return l
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// applyRoutes reads the routes section and routes the matching commands.
func (a *App) applyRoutes() error {
	var raw map[string]any
	if err := a.cfg.Section("routes", &raw); err != nil {
		return err
	}
	// Configuration keys are split at dots, so "inventory.*" arrives as
	// {inventory: {"*": ...}}: join the levels again down to the values.
	flat := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			flat[prefix+k] = v
		}
	}
	walk("", raw)
	patterns := make([]string, 0, len(flat))
	for p := range flat {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	host := a.Host()
	for _, p := range patterns {
		var targets []string
		switch v := flat[p].(type) {
		case string:
			targets = []string{v}
		case []any:
			for _, t := range v {
				s, ok := t.(string)
				if !ok {
					return &config.Error{Key: "routes." + p, File: a.cfg.File(), Err: fmt.Errorf("want a URL or a list of URLs, got %v", v)}
				}
				targets = append(targets, s)
			}
		case []string:
			targets = v
		default:
			return &config.Error{Key: "routes." + p, File: a.cfg.File(), Err: fmt.Errorf("want a URL or a list of URLs, got %T", v)}
		}
		if len(targets) == 0 || (len(targets) == 1 && targets[0] == "") || targets[0] == "local" {
			continue // an empty value or "local" keeps the command local
		}
		route, err := transport.NewRoute(host, targets)
		if err != nil {
			return &config.Error{Key: "routes." + p, File: a.cfg.File(), Err: err}
		}
		if err := a.cat.SetRoute(p, route); err != nil {
			return &config.Error{Key: "routes." + p, File: a.cfg.File(), Err: err}
		}
		a.noteRoute(p, targets)
	}
	return nil
}

// Name returns the application's name.
func (a *App) Name() string { return a.name }

// Catalog returns the catalog the application serves.
func (a *App) Catalog() *catalog.Catalog { return a.cat }

// Config returns the application's configuration.
func (a *App) Config() *config.Config { return a.cfg }

// Logger returns the application's logger.
func (a *App) Logger() *zap.Logger { return a.logger }

// I18n returns the bundle that localizes error messages.
func (a *App) I18n() *i18n.Bundle { return a.bundle }

// Host returns what the application hands its transports and the route
// factories of its routes: its clients among them, which it closes when
// it stops, so that its routes use its http_client settings and share
// connections with no other application.
func (a *App) Host() transport.Host {
	h := transport.Host{Name: a.name, Catalog: a.cat, Logger: a.logger, I18n: a.bundle, Config: a.cfg, Clients: &a.clients, Engine: a.engine, Registry: a.reg}
	a.chainMu.Lock()
	defer a.chainMu.Unlock()
	for _, b := range a.built {
		if x, ok := b.m.(HostExtender); ok {
			x.ExtendHost(&h)
		}
	}
	return h
}

// Run starts the application, waits until ctx is canceled or the process
// receives one of the stop signals (SIGINT and SIGTERM by default), then
// stops it within the shutdown timeout. It returns nil after a requested
// stop, or the error that made the start or the stop fail.
func (a *App) Run(ctx context.Context) error {
	sigs := a.opts.signals
	if sigs == nil {
		sigs = []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	runCtx, stop := signal.NotifyContext(ctx, sigs...)
	defer stop()
	if err := a.Start(runCtx); err != nil {
		return err
	}
	<-runCtx.Done()
	a.logger.Info("stopping", zap.NamedError("reason", context.Cause(runCtx)), zap.Duration("timeout", a.shutdown))
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.shutdown)
	defer cancel()
	return a.Stop(stopCtx)
}

// Start runs the start hooks and starts the transports, in order. When
// one fails, the transports already started are stopped again and the
// error is returned; the App cannot be started again.
func (a *App) Start(ctx context.Context) error {
	a.mu.Lock()
	switch a.state {
	case stateNew:
	case stateStopping, stateStopped:
		a.mu.Unlock()
		return ErrStopped
	default:
		a.mu.Unlock()
		return ErrAlreadyStarted
	}
	a.state = stateStarting
	a.mu.Unlock()

	a.undoLogger = wlog.ReplaceDefault(a.logger)
	if len(a.unused) > 0 {
		a.logger.Warn("middleware registered but in no chain", zap.Strings("middleware", a.unused),
			zap.String("hint", `name them in middleware.server or middleware.client, or give fw.Middleware a position such as fw.After("logging")`))
	}
	if missing := a.bundle.Missing(); len(missing) > 0 {
		a.logger.Warn("error codes without a message in some languages", zap.Int("missing", len(missing)),
			zap.Stringer("first", missing[0]))
	}
	if err := a.start(ctx); err != nil {
		a.logger.Error("start failed", zap.Error(err))
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.shutdown)
		defer cancel()
		stopErr := a.stopTransports(stopCtx)
		a.finish()
		return errors.Join(err, stopErr)
	}
	a.mu.Lock()
	a.state = stateRunning
	a.mu.Unlock()
	names := make([]string, 0, len(a.started))
	for _, t := range a.started {
		names = append(names, t.Name())
	}
	a.logger.Info("started", zap.Strings("transports", names), zap.String("env", a.cfg.Env()))
	return nil
}

func (a *App) start(ctx context.Context) error {
	for _, h := range a.opts.beforeStart {
		if err := h(ctx); err != nil {
			return fmt.Errorf("fw: before-start hook: %w", err)
		}
	}
	// The subscribers are registered by now (an application registers
	// them after New): the rules on events compile against them.
	if err := a.compileAuthEvents(); err != nil {
		return err
	}
	a.logAuth()
	if a.engine != nil {
		if err := a.engine.Start(ctx); err != nil {
			return fmt.Errorf("fw: start the %s engine: %w", a.engine.Name(), err)
		}
	}
	if s, ok := a.reg.(registry.Starter); ok {
		if err := s.Start(ctx); err != nil {
			return fmt.Errorf("fw: start the %s registry: %w", a.regKind, err)
		}
	}
	if err := a.startStore(ctx); err != nil {
		return err
	}
	if err := a.startEvents(ctx); err != nil {
		return err
	}
	host := a.Host()
	for _, t := range a.opts.transports {
		if err := t.Start(ctx, host); err != nil {
			return fmt.Errorf("fw: start transport %s: %w", t.Name(), err)
		}
		a.started = append(a.started, t)
	}
	if err := a.register(ctx); err != nil {
		return err
	}
	if a.cfg.File() != "" {
		if err := a.cfg.Start(ctx); err != nil {
			return fmt.Errorf("fw: watch configuration: %w", err)
		}
	}
	if a.source != nil {
		if err := a.cfg.Attach(ctx, a.source); err != nil {
			return fmt.Errorf("fw: dynamic configuration (config.kv): %w", err)
		}
	}
	for _, h := range a.opts.afterStart {
		if err := h(ctx); err != nil {
			return fmt.Errorf("fw: after-start hook: %w", err)
		}
	}
	return nil
}

// Stop runs the stop hooks and stops the transports in reverse order,
// letting in-flight requests finish until ctx is done. Every hook and
// transport is given its chance; their errors are joined.
func (a *App) Stop(ctx context.Context) error {
	a.mu.Lock()
	switch a.state {
	case stateRunning:
	case stateNew:
		a.mu.Unlock()
		return ErrNotStarted
	case stateStarting:
		a.mu.Unlock()
		return errors.New("fw: application is starting")
	default:
		a.mu.Unlock()
		return ErrStopped
	}
	a.state = stateStopping
	a.mu.Unlock()

	// First of all, so that callers stop picking this node while its
	// transports still serve them.
	errs := []error{a.deregister(ctx)}
	for _, h := range a.opts.beforeStop {
		if err := h(ctx); err != nil {
			errs = append(errs, fmt.Errorf("fw: before-stop hook: %w", err))
		}
	}
	errs = append(errs, a.stopTransports(ctx))
	for _, h := range a.opts.afterStop {
		if err := h(ctx); err != nil {
			errs = append(errs, fmt.Errorf("fw: after-stop hook: %w", err))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		a.logger.Error("stopped with errors", zap.Error(err))
	} else {
		a.logger.Info("stopped")
	}
	a.finish()
	return err
}

func (a *App) stopTransports(ctx context.Context) error {
	errs := []error{a.deregister(ctx)} // after a failed start; done already by Stop
	for i := len(a.started) - 1; i >= 0; i-- {
		t := a.started[i]
		if err := t.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("fw: stop transport %s: %w", t.Name(), err))
		}
	}
	a.started = nil
	errs = append(errs, a.stopEvents(ctx))
	// Before the engine closes the connection that the configuration
	// bucket is followed on.
	_ = a.cfg.Close()
	// After the transports, whose routes may watch it; before the engine
	// it needs.
	if err := a.reg.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("fw: close the %s registry: %w", a.regKind, err))
	}
	// After the transports, whose commands use it; before the engine it
	// may need.
	errs = append(errs, a.closeStore())
	if a.engine != nil {
		// After the transports: their requests drain through it.
		if err := a.engine.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("fw: close the %s engine: %w", a.engine.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// makeEngine makes, without starting it, the engine whose section the
// configuration has, whose transport the application serves with, or,
// when dynamic is true, that keeps the dynamic configuration.
func (a *App) makeEngine(dynamic bool) error {
	for _, name := range transport.EngineNames() {
		need := dynamic || a.cfg.IsSet(name) || a.eventsNeedEngine(name)
		for _, t := range a.opts.transports {
			need = need || t.Name() == name
		}
		if !need {
			continue
		}
		f, _ := transport.EngineFactoryOf(name)
		e, err := f(a.cfg, a.logger)
		if err != nil {
			return err
		}
		a.engine = e
		return nil
	}
	return nil
}

// makeSource makes the configuration source of the key-value bucket
// named bucket, when it is not empty, on the application's engine.
func (a *App) makeSource(bucket string) error {
	if bucket == "" {
		return nil
	}
	cs, ok := a.engine.(configSourcer)
	if !ok {
		return &config.Error{Key: "config.kv", File: a.cfg.File(),
			Err: errors.New("dynamic configuration needs the NATS engine, which is not linked: import github.com/wegomesh/wego/transport/nats")}
	}
	src, err := cs.ConfigSource(bucket)
	if err != nil {
		return &config.Error{Key: "config.kv", File: a.cfg.File(), Err: err}
	}
	a.source = src
	return nil
}

// makeRegistry makes, without starting it, the registry of the registry
// section: of its kind, or by default the NATS engine's when the
// application has it, the process's memory otherwise.
func (a *App) makeRegistry() error {
	cfg, err := config.GetWithDefaults(a.cfg, "registry", registry.DefaultConfig())
	if err != nil {
		return err
	}
	kind := cfg.Kind
	if kind == "" {
		kind = "memory"
		if a.engine != nil {
			kind = a.engine.Name()
		}
	}
	f, ok := registry.FactoryOf(kind)
	if !ok {
		why := fmt.Errorf("no registry of kind %q is linked (linked: %s)", kind, strings.Join(registry.Kinds(), ", "))
		if kind == "nats" {
			why = errors.New(`the NATS registry is not linked: import github.com/wegomesh/wego/registry/natsregistry (the NATS transport does)`)
		}
		return &config.Error{Key: "registry.kind", File: a.cfg.File(), Err: why}
	}
	reg, err := f(cfg, a.engine, a.logger)
	if err != nil {
		return &config.Error{Key: "registry.kind", File: a.cfg.File(), Err: err}
	}
	a.reg, a.regKind = reg, kind
	return nil
}

// register registers the application's node — its name as the service,
// the endpoints of its started transports — when it has endpoints.
func (a *App) register(ctx context.Context) error {
	endpoints := map[string]string{}
	for _, t := range a.started {
		e, ok := t.(transport.Endpointer)
		if !ok {
			continue
		}
		for name, u := range e.Endpoints() {
			if err := (registry.Node{Service: "x", ID: "x", Endpoints: map[string]string{name: u}}).Validate(); err != nil {
				a.logger.Warn("an endpoint of a transport is not registered", zap.String("transport", t.Name()), zap.Error(err))
				continue
			}
			if prev, dup := endpoints[name]; dup {
				a.logger.Warn("two transports have an endpoint of one name; the first is registered",
					zap.String("endpoint", name), zap.String("registered", prev), zap.String("ignored", u))
				continue
			}
			endpoints[name] = u
		}
	}
	if len(endpoints) == 0 {
		return nil
	}
	node := registry.Node{Service: a.name, ID: strings.ToLower(rand.Text()), Endpoints: endpoints,
		Metadata: map[string]string{"pid": strconv.Itoa(os.Getpid())}}
	if host, err := os.Hostname(); err == nil {
		node.Metadata["host"] = host
	}
	if err := node.Validate(); err != nil {
		a.logger.Warn("not registered in the registry: the application's name or host is not one a node can have (app.name)", zap.Error(err))
		return nil
	}
	if err := a.reg.Register(ctx, node); err != nil {
		return fmt.Errorf("fw: register in the %s registry: %w", a.regKind, err)
	}
	a.node, a.registered = node, true
	a.logger.Info("registered", zap.String("registry", a.regKind), zap.String("service", node.Service),
		zap.String("id", node.ID), zap.Any("endpoints", endpoints))
	return nil
}

// deregister removes the application's node from the registry, once.
func (a *App) deregister(ctx context.Context) error {
	if !a.registered {
		return nil
	}
	a.registered = false
	if err := a.reg.Deregister(ctx, a.node.Service, a.node.ID); err != nil {
		return fmt.Errorf("fw: deregister from the %s registry (the node expires within registry.ttl): %w", a.regKind, err)
	}
	a.logger.Info("deregistered", zap.String("registry", a.regKind), zap.String("service", a.node.Service), zap.String("id", a.node.ID))
	return nil
}

// finish releases what Start took and marks the App stopped.
func (a *App) finish() {
	if err := a.clients.Close(); err != nil {
		a.logger.Warn("closing the clients of remote routes", zap.Error(err))
	}
	a.closeMiddleware()
	_ = a.cfg.Close()
	if a.stopLevel != nil {
		a.stopLevel()
	}
	_ = a.logger.Sync() // stdout cannot be synced on some systems; nothing to do about it
	if a.undoLogger != nil {
		a.undoLogger()
	}
	a.mu.Lock()
	a.state = stateStopped
	a.mu.Unlock()
}
