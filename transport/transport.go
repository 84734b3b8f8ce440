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
}

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
