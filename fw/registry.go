package fw

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/internal/kinds"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/transport"
)

// descriptor is what fw knows of a middleware: its name, which is also its
// configuration section (middleware.<name>), and how to build it.
type descriptor struct {
	name    string
	site    string  // where it was registered, for messages
	builtin bool    // registered by fw itself
	build   Factory // decodes the section and builds the middleware
	watch   watcher // follows the section while the application runs
}

// middlewares holds the middleware that every application of the process can
// build by name: fw's built-in ones and those that packages register.
var middlewares kinds.Registry[*descriptor]

// RegisterMiddleware makes a middleware available by name to every
// application of the process, usually from the init function of a package
// that a program imports for the side effect (see package fw/newrelic).
// The middleware's section is middleware.<name>: an application decodes it
// into a copy of defaults() — strictly, so that an unknown key fails
// start-up, and calling its Validate method when it has one — and passes
// the result to build, once per application. When the built middleware
// implements [io.Closer], the application closes it when it stops; when it
// implements [HostExtender], the application lets it extend the host it
// hands its transports.
//
// A name is lower-case letters, digits and '_', starting with a letter, and
// neither "server" nor "client". Like [net/http.ServeMux.Handle] and
// errs.Define, RegisterMiddleware is meant for init functions and panics,
// naming both registration sites, when the name is taken, and when the
// name is malformed or defaults or build is nil.
func RegisterMiddleware[C any](name string, defaults func() C, build func(a *App, cfg C) (middleware.Middleware, error)) {
	site := callerSite(2)
	if defaults == nil || build == nil {
		panic(fmt.Sprintf("fw: RegisterMiddleware(%q) at %s: nil defaults or build", name, site))
	}
	if err := register(name, site, false, section(name, defaults, build), sectionWatch(name, defaults, build)); err != nil {
		panic(err.Error())
	}
}

// section returns the factory that decodes middleware.<name> into a copy
// of defaults() and calls build with it.
func section[C any](name string, defaults func() C, build func(a *App, cfg C) (middleware.Middleware, error)) Factory {
	return func(a *App) (middleware.Middleware, error) {
		cfg, err := config.GetWithDefaults(a.cfg, "middleware."+name, defaults())
		if err != nil {
			return nil, err
		}
		return build(a, cfg)
	}
}

// watcher follows the section of a middleware while an application runs:
// after each change of the section that validates, it calls fn with the
// middleware built from the new settings.
type watcher func(a *App, fn func(middleware.Middleware)) (stop func(), err error)

// sectionWatch returns the watcher of middleware.<name>. A change that
// does not decode or validate is refused by the configuration, which
// logs it and keeps the old value; one with which build fails is logged
// here, naming the key, and the middleware keeps its settings.
func sectionWatch[C any](name string, defaults func() C, build func(a *App, cfg C) (middleware.Middleware, error)) watcher {
	key := "middleware." + name
	return func(a *App, fn func(middleware.Middleware)) (func(), error) {
		first := true // Watch delivers the current settings first: built already
		return config.Watch(a.cfg, key, defaults(), func(cfg C) {
			if first {
				first = false
				return
			}
			m, err := build(a, cfg)
			if err == nil && m == nil {
				err = errors.New("the factory returned no middleware")
			}
			if err != nil {
				a.logger.Error("configuration change refused: the middleware cannot be built with it and keeps its settings",
					zap.String("key", key), zap.Error(err))
				return
			}
			fn(m)
		})
	}
}

// builtin registers one of fw's own middleware; their constructors take
// the configuration and options.
func builtin[C any, M middleware.Middleware](name string, defaults func() C, build func(a *App, cfg C) (M, error)) {
	b := func(a *App, cfg C) (middleware.Middleware, error) {
		m, err := build(a, cfg)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	if err := register(name, callerSite(2), true, section(name, defaults, b), sectionWatch(name, defaults, b)); err != nil {
		panic(err.Error()) // two built-ins with one name: a bug of fw
	}
}

func register(name, site string, isBuiltin bool, f Factory, w watcher) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("fw: middleware registered at %s: %w", site, err)
	}
	d := &descriptor{name: name, site: site, builtin: isBuiltin, build: f, watch: w}
	if prev, added := middlewares.Add(name, d); !added {
		return fmt.Errorf("fw: middleware %q registered twice: at %s and at %s", name, prev.site, site)
	}
	return nil
}

// registered returns the registered middleware by name.
func registered() map[string]*descriptor {
	names := middlewares.Kinds()
	m := make(map[string]*descriptor, len(names))
	for _, name := range names {
		if d, ok := middlewares.Lookup(name); ok {
			m[name] = d
		}
	}
	return m
}

// checkName reports whether name can name a middleware: it is a
// configuration key (which the loader lower-cases) beside the chain lists.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty middleware name")
	}
	if name == "server" || name == "client" {
		return fmt.Errorf("middleware name %q is taken by the chain list middleware.%s", name, name)
	}
	for i, r := range name {
		if !('a' <= r && r <= 'z' || i > 0 && ('0' <= r && r <= '9' || r == '_')) {
			return fmt.Errorf("invalid middleware name %q: use lower-case letters, digits and '_', starting with a letter", name)
		}
	}
	return nil
}

func callerSite(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown site"
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// HostExtender is implemented by a middleware that also extends what the
// application hands its transports and route factories, through the
// transport-neutral [transport.Host.ServerHooks] and
// [transport.Host.Propagators]: New Relic, for one, starts a web
// transaction around each command's request that a server serves and adds
// trace headers to the requests of remote routes, in every transport. The
// application calls ExtendHost on each middleware of its chains that
// implements it, in the order the chains list them, server chain first,
// every time it makes a [transport.Host].
type HostExtender interface {
	ExtendHost(h *transport.Host)
}

// ErrNotLinked is wrapped by the error of [New] when the configuration
// turns on a middleware whose package the program does not import; the
// message names the import to add.
var ErrNotLinked = errors.New("middleware not linked into this program")

// elsewhere are the middleware that the default chains name but that fw
// does not link itself, because their dependencies are heavy: a package
// registers each when a program imports it. When one is not registered, the
// chains skip it unless the configuration turns it on (on reports the key
// that does); New then fails with ErrNotLinked, naming the import.
var elsewhere = map[string]struct {
	pkg string
	on  func(*config.Config) (key string, on bool)
}{
	"newrelic": {"github.com/wegomesh/wego/fw/newrelic", newRelicOn},
}

// newRelicOn reports whether the configuration turns New Relic on: a
// license key, and enabled not false (see middleware/newrelic.Config.On).
func newRelicOn(c *config.Config) (string, bool) {
	const key = "middleware.newrelic.license_key"
	if c.String(key) == "" {
		return key, false
	}
	if enabled := "middleware.newrelic.enabled"; c.IsSet(enabled) && !c.Bool(enabled) {
		return key, false
	}
	return key, true
}

// linkError is the error for a middleware that the configuration turns on
// (at key) but that is not linked.
func (a *App) linkError(name, key string) error {
	e := elsewhere[name]
	return &config.Error{Key: key, File: a.cfg.File(),
		Err: fmt.Errorf("%w: the configuration turns %s on; add import _ %q to package main", ErrNotLinked, name, e.pkg)}
}

// linkable names the packages that register the kinds of one of the
// kind registries that fw reads but does not fill itself (store.kind,
// events.backend), for the error of a kind that no linked package
// registered.
type linkable struct {
	key      string            // the configuration key that names the kind
	noun     string            // what the kinds are kinds of, in messages
	err      error             // wrapped when packages names the kind
	linked   func() []string   // the kinds registered, sorted
	packages map[string]string // kind -> the package that registers it
}

// notLinked is the error for kind, which no linked package registered: it
// names the import to add when l knows the package that registers kind,
// and the kinds that are linked otherwise.
func (a *App) notLinked(l linkable, kind string) error {
	why := fmt.Errorf("no %s of kind %q is linked (linked: %s)", l.noun, kind, strings.Join(l.linked(), ", "))
	if pkg, known := l.packages[kind]; known {
		why = fmt.Errorf("%w: %s is %s; add import _ %q to package main", l.err, l.key, kind, pkg)
	}
	return &config.Error{Key: l.key, File: a.cfg.File(), Err: why}
}

// sortedNames returns the names of m, sorted.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
