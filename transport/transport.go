// Package transport defines how WeGO exposes a catalog's commands to other
// processes. A [Transport] binds to a catalog when the application starts
// it and serves the catalog's commands through their server chains until
// it is stopped; package transport/http is the HTTP transport and also
// supplies the remote routes that call commands in other processes.
//
// Transports do no I/O until [Transport.Start]: constructing one, like
// registering a command, only records what to do.
package transport

import (
	"context"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/internal/kinds"
	"github.com/wegomesh/wego/registry"
)

// Host is what an application hands a transport when it starts it, and a
// [RouteFactory] when it builds a route. It names no type of any one
// transport: what an application adds to every transport (tracing, for
// one) goes through [Propagator]s over [Metadata] and [ServerHook]s.
type Host struct {
	// Name is the application's name, for logs and documents.
	Name string
	// Catalog holds the commands to serve.
	Catalog *catalog.Catalog
	// Logger is the application's logger.
	Logger *zap.Logger
	// I18n localizes error messages for clients.
	I18n *i18n.Bundle
	// Config is the application's configuration, from which a transport
	// reads its own section. It may be nil in tests.
	Config *config.Config
	// Propagators carry context across processes, in every transport:
	// remote routes inject them into the metadata of each request, servers
	// extract them from it, in order. New Relic's distributed-tracing
	// headers are one.
	Propagators []Propagator
	// ServerHooks span the serving of each request by every server,
	// outermost first, after the Propagators have extracted: New Relic's
	// web transactions are one.
	ServerHooks []ServerHook
	// Clients holds the clients that route factories make for the
	// application, which closes them when it stops. When it is nil, as in
	// tests, each route gets a client of its own, closed by no one.
	Clients *Clients
	// Engine is the application's engine, the connection to NATS that its
	// NATS transports and routes share (package engine); nil when the
	// application has none. Route factories get it before it is started:
	// the application starts it before its transports and closes it after
	// them.
	Engine Engine
	// Registry is the application's service registry (package registry,
	// from the registry section): the application registers its own node
	// there with the [Endpointer] transports' endpoints, and routes find
	// the nodes of other services there. Route factories get it before it
	// is started (Lookup says so; Watch sends its first set once it is).
	// Nil in a Host built by hand, as in tests.
	Registry registry.Registry
}

// Endpointer is a [Transport] that other processes reach at addresses:
// once it has started, the application registers its Endpoints, by
// protocol ({"http": "http://10.0.0.5:8081"}), as its node's in the
// registry (see [registry.Node]).
type Endpointer interface {
	Endpoints() map[string]string
}

// Engine is a connection to a messaging system that an application's
// transports and routes share: NATS's (package engine). An application
// makes it from configuration with the factory a package registers
// ([RegisterEngine]), starts it before its transports and closes it after
// them, so that a program that does not use it does not link it.
type Engine interface {
	// Name is the name of the engine and of its configuration section
	// ("nats").
	Name() string
	// Start connects, and starts an embedded server if it has one; later
	// calls return the first one's result.
	Start(ctx context.Context) error
	// Ready reports whether the engine is connected.
	Ready() bool
	// Close drains and closes the connection and stops an embedded
	// server, within ctx.
	Close(ctx context.Context) error
}

// EngineFactory makes the engine named by its registration from the
// application's configuration (its section of the same name), without
// starting it.
type EngineFactory func(cfg *config.Config, logger *zap.Logger) (Engine, error)

// engines are the registered engines.
var engines kinds.Registry[EngineFactory]

// RegisterEngine makes f build the engine name ("nats") for applications
// whose configuration has a section of that name. It is meant for init
// functions of the packages that provide the engine's transport, and
// panics when name is empty, f is nil, or name is registered already.
func RegisterEngine(name string, f EngineFactory) {
	if name == "" || f == nil {
		panic("transport: RegisterEngine needs a name and a factory")
	}
	if _, added := engines.Add(name, f); !added {
		panic("transport: engine " + name + " registered twice")
	}
}

// EngineNames returns the names of the registered engines, sorted.
func EngineNames() []string { return engines.Kinds() }

// EngineFactoryOf returns the factory registered for the engine name.
func EngineFactoryOf(name string) (EngineFactory, bool) { return engines.Lookup(name) }

// Transport serves a catalog's commands to other processes.
type Transport interface {
	// Name identifies the transport in logs and errors ("http").
	Name() string
	// Start begins serving with host's catalog. It returns once the
	// transport accepts requests (a listener is bound), or with an error;
	// serving goes on in the background until Stop.
	Start(ctx context.Context, host Host) error
	// Stop stops accepting new requests, lets in-flight ones finish until
	// ctx is done, and releases the transport's resources. It is safe to
	// call once after Start.
	Stop(ctx context.Context) error
}
