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
	"net/http"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/i18n"
)

// Host is what an application hands a transport when it starts it.
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
	// HTTPServerMiddleware wrap the handler of HTTP servers, outermost
	// first: net/http middleware that an application adds to every server,
	// such as New Relic's web transactions.
	HTTPServerMiddleware []func(http.Handler) http.Handler
	// HTTPClientHeaders add headers to every request that HTTP remote
	// routes send, such as distributed-tracing headers.
	HTTPClientHeaders []func(ctx context.Context, h http.Header)
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
