package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/log"
)

// ErrNoJetStream is returned by [Engine.JetStream] when the embedded server
// runs without JetStream (nats.server.jetstream: false).
var ErrNoJetStream = errors.New("engine: JetStream is off (nats.server.jetstream)")

// firstRetry is the first pause between two attempts to connect at start
// with WaitAtStart; the pause doubles up to ReconnectWait.
const firstRetry = 100 * time.Millisecond

// Engine owns the application's connection to NATS and, when it embeds one,
// the NATS server. Everything else that speaks NATS asks the engine for its
// connection ([Engine.Conn]) and never dials on its own.
//
// An Engine is safe for concurrent use. Close it when the application stops.
type Engine struct {
	cfg     Config
	logger  *zap.Logger
	srv     *server.Server // nil with external servers
	conn    atomic.Pointer[nats.Conn]
	nc      *nats.Conn          // conn, once Start has set it; read only after Start
	js      jetstream.JetStream // nil when the embedded server has no JetStream
	tempDir string              // the JetStream directory Close removes, if any

	startOnce sync.Once
	startErr  error

	closing    atomic.Bool
	url        atomic.Pointer[string] // the server last connected to
	closed     chan struct{}          // closed when the connection closes
	closedOnce sync.Once

	closeOnce sync.Once
	closeErr  error
}

// Start starts the engine of cfg: it starts the embedded server, if cfg
// embeds one, and waits until it accepts connections, then connects to it
// in-process, or to the servers of cfg.URLs, and returns once the
// connection is ready. A nil logger means the process's default logger
// ([log.L]).
//
// Start fails with an error that names the listen addresses when the
// embedded server cannot listen (a port already taken), and with one that
// names the URLs when no server answers, unless cfg.WaitAtStart makes it
// keep trying until ctx ends. ctx bounds the start only; the engine runs
// until [Engine.Close].
//
// Once started, the connection reconnects on its own whenever it is lost,
// to any server of the cluster it knows of, and logs each disconnection,
// reconnection and asynchronous error with the server's URL. While it is
// disconnected [Engine.Ready] is false, and publishing or requesting fails
// at once rather than being buffered until the connection returns.
func Start(ctx context.Context, cfg Config, logger *zap.Logger) (*Engine, error) {
	e, err := New(cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := e.Start(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// New returns the engine of cfg without starting it: it validates cfg and
// does no I/O, so that an application can hand the engine to what will use
// it (remote routes, transports) while it is being built, and start it
// later with [Engine.Start]. Until then [Engine.Conn] is nil and
// [Engine.Ready] false. A nil logger means the process's default logger
// ([log.L]).
func New(cfg Config, logger *zap.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("engine: %w", inSection(err))
	}
	if logger == nil {
		logger = log.L()
	}
	return &Engine{cfg: cfg, logger: logger, closed: make(chan struct{})}, nil
}

// Start starts an engine made by [New], as [Start] does; only the first
// call does anything, and later ones return its result. An engine whose
// start failed cannot be started again.
func (e *Engine) Start(ctx context.Context) error {
	e.startOnce.Do(func() { e.startErr = e.start(ctx) })
	return e.startErr
}

func (e *Engine) start(ctx context.Context) error {
	cfg, logger := e.cfg, e.logger
	urls := cfg.URLs
	var extra []nats.Option
	if cfg.embedded() {
		dir := cfg.Server.StoreDir
		if cfg.Server.JetStream && dir == "" {
			var err error
			if dir, err = tempStoreDir(); err != nil {
				return err
			}
			e.tempDir = dir
		}
		srv, err := startServer(ctx, &cfg.Server, dir, logger)
		if err != nil {
			e.removeTempDir()
			return err
		}
		e.srv = srv
		urls = []string{srv.ClientURL()}
		extra = append(extra, nats.InProcessServer(srv))
		fields := []zap.Field{zap.String("url", srv.ClientURL()), zap.Bool("jetstream", cfg.Server.JetStream)}
		if cfg.Server.JetStream {
			fields = append(fields, zap.String("store_dir", dir))
		}
		if a := srv.ClusterAddr(); a != nil {
			fields = append(fields, zap.String("cluster", cfg.Server.Cluster.Name), zap.String("cluster_listen", a.String()))
		}
		logger.Info("nats: embedded server ready", fields...)
	} else {
		if cfg.Credentials != "" {
			extra = append(extra, nats.UserCredentials(cfg.Credentials))
		}
		if cfg.TLS.CA != "" {
			extra = append(extra, nats.RootCAs(cfg.TLS.CA))
		}
		if cfg.TLS.Cert != "" {
			extra = append(extra, nats.ClientCert(cfg.TLS.Cert, cfg.TLS.Key))
		}
	}
	nc, err := e.connect(ctx, urls, extra)
	if err != nil {
		e.stopServer()
		return err
	}
	e.nc = nc
	u := nc.ConnectedUrlRedacted()
	e.url.Store(&u)
	if e.srv == nil || cfg.Server.JetStream {
		if e.js, err = jetstream.New(nc); err != nil {
			e.closing.Store(true)
			nc.Close()
			e.stopServer()
			return fmt.Errorf("engine: JetStream: %w", err)
		}
	}
	e.conn.Store(nc) // published last: whoever sees it sees the rest
	logger.Info("nats: connected", zap.String("url", u), zap.String("server", nc.ConnectedServerName()))
	return nil
}

// inSection returns err with the key of a [*config.Error] completed with
// the section's name, for a Config that did not come through [LoadConfig].
func inSection(err error) error {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return err
	}
	return &config.Error{Key: Section + "." + ce.Key, File: ce.File, Source: ce.Source, Err: ce.Err}
}

// connect connects to urls, trying again with a growing pause while
// cfg.WaitAtStart asks for it and ctx lasts.
func (e *Engine) connect(ctx context.Context, urls []string, extra []nats.Option) (*nats.Conn, error) {
	shown := make([]string, len(urls))
	for i, u := range urls {
		shown[i] = redact(u)
	}
	where := strings.Join(shown, ", ")
	opts := append(e.options(), extra...)
	pause := firstRetry
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("engine: connect to NATS at %s: %w", where, err)
		}
		nc, err := nats.Connect(strings.Join(urls, ","), opts...)
		if err == nil {
			return nc, nil
		}
		if !e.cfg.WaitAtStart || e.srv != nil {
			return nil, fmt.Errorf("engine: connect to NATS at %s: %w", where, err)
		}
		pause = min(pause, max(e.cfg.ReconnectWait, firstRetry))
		e.logger.Warn("nats: no server answers, waiting (nats.wait_at_start)",
			zap.String("urls", where), zap.Int("attempt", attempt), zap.Duration("retry_in", pause), zap.Error(err))
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("engine: connect to NATS at %s: gave up after %d attempts: %w (last: %v)", where, attempt, ctx.Err(), err)
		case <-t.C:
		}
		pause *= 2
	}
}

// options returns the connection's options, its handlers included.
func (e *Engine) options() []nats.Option {
	c := &e.cfg
	return []nats.Option{
		nats.Name(c.Name),
		nats.Timeout(c.ConnectTimeout),
		nats.ReconnectWait(c.ReconnectWait),
		nats.MaxReconnects(c.MaxReconnects),
		nats.PingInterval(c.PingInterval),
		nats.DrainTimeout(c.DrainTimeout),
		// Fail at once while disconnected: a request sent when the
		// connection returns would reach a server after its caller gave up.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(e.onDisconnect),
		nats.ReconnectHandler(e.onReconnect),
		nats.ReconnectErrHandler(e.onReconnectError),
		nats.ClosedHandler(e.onClosed),
		nats.ErrorHandler(e.onAsyncError),
		nats.LameDuckModeHandler(e.onLameDuck),
		nats.DiscoveredServersHandler(e.onDiscovered),
	}
}

func (e *Engine) lastURL() string {
	if p := e.url.Load(); p != nil {
		return *p
	}
	return ""
}

func (e *Engine) onDisconnect(_ *nats.Conn, err error) {
	if e.closing.Load() {
		e.logger.Debug("nats: disconnected", zap.String("url", e.lastURL()), zap.Error(err))
		return
	}
	e.logger.Warn("nats: disconnected, reconnecting", zap.String("url", e.lastURL()), zap.Error(err))
}

func (e *Engine) onReconnect(nc *nats.Conn) {
	u := nc.ConnectedUrlRedacted()
	e.url.Store(&u)
	e.logger.Info("nats: reconnected", zap.String("url", u), zap.String("server", nc.ConnectedServerName()))
}

func (e *Engine) onReconnectError(_ *nats.Conn, err error) {
	e.logger.Debug("nats: reconnect attempt failed", zap.Error(err))
}

func (e *Engine) onClosed(*nats.Conn) {
	e.closedOnce.Do(func() { close(e.closed) })
	if e.closing.Load() {
		e.logger.Debug("nats: connection closed", zap.String("url", e.lastURL()))
		return
	}
	e.logger.Error("nats: connection closed after the last reconnect attempt (nats.max_reconnects)", zap.String("url", e.lastURL()))
}

func (e *Engine) onAsyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	fields := []zap.Field{zap.String("url", e.lastURL()), zap.Error(err)}
	if sub != nil {
		fields = append(fields, zap.String("subject", sub.Subject))
	}
	e.logger.Warn("nats: asynchronous error", fields...)
}

func (e *Engine) onLameDuck(nc *nats.Conn) {
	e.logger.Warn("nats: the server is shutting down (lame duck mode); the connection will move", zap.String("url", e.lastURL()))
}

func (e *Engine) onDiscovered(nc *nats.Conn) {
	e.logger.Debug("nats: discovered servers", zap.Strings("servers", nc.DiscoveredServers()))
}

// Conn returns the engine's connection. It stays the same for the
// engine's life: reconnections happen beneath it.
func (e *Engine) Conn() *nats.Conn { return e.conn.Load() }

// Name returns "nats", the name of the engine and of its configuration
// section; with Start, Ready and Close it makes Engine a transport.Engine.
func (e *Engine) Name() string { return Section }

// Ready reports whether the connection is up: false while it is
// disconnected or reconnecting, and from the start of [Engine.Close].
func (e *Engine) Ready() bool {
	nc := e.conn.Load()
	return nc != nil && !e.closing.Load() && nc.Status() == nats.CONNECTED
}

// ClientURL returns the URL where other clients reach NATS: the embedded
// server's, with the port it picked when asked for a free one, or the URL
// of the server the connection is (or was last) connected to, its
// password hidden.
func (e *Engine) ClientURL() string {
	if e.srv != nil {
		return e.srv.ClientURL()
	}
	return e.lastURL()
}

// JetStream returns the JetStream API of the connection. It returns
// [ErrNoJetStream] when the embedded server runs without JetStream; with
// external servers, whether they run JetStream shows in the API's errors
// ([jetstream.ErrJetStreamNotEnabled]).
func (e *Engine) JetStream() (jetstream.JetStream, error) {
	if e.js == nil {
		return nil, ErrNoJetStream
	}
	return e.js, nil
}

// Server returns the embedded server, or nil when the engine connects to
// external servers.
func (e *Engine) Server() *server.Server { return e.srv }

// Close drains the connection — subscriptions stop receiving, finish the
// messages they hold, and what they publish is flushed — then closes it,
// shuts the embedded server down and waits until it has stopped.
// [Config.DrainTimeout] and ctx bound the drain; when either ends first,
// the connection is closed at once and Close returns an error. Close is
// idempotent: later calls return the first one's result.
func (e *Engine) Close(ctx context.Context) error {
	e.closeOnce.Do(func() { e.closeErr = e.close(ctx) })
	return e.closeErr
}

func (e *Engine) close(ctx context.Context) error {
	e.closing.Store(true)
	e.startOnce.Do(func() { e.startErr = errors.New("engine: closed before it started") })
	if e.conn.Load() == nil {
		return nil // never started, or its start failed and cleaned up
	}
	var err error
	switch drainErr := e.nc.Drain(); {
	case drainErr == nil, errors.Is(drainErr, nats.ErrConnectionClosed):
	case errors.Is(drainErr, nats.ErrConnectionReconnecting):
		// Nothing can be delivered: the connection closes at once.
		e.logger.Warn("nats: closed without draining: disconnected", zap.String("url", e.lastURL()))
	default:
		e.nc.Close()
		err = fmt.Errorf("engine: drain the NATS connection: %w", drainErr)
	}
	select {
	case <-e.closed:
		if errors.Is(e.nc.LastError(), nats.ErrDrainTimeout) {
			err = fmt.Errorf("engine: drain the NATS connection: not done within nats.drain_timeout (%s)", e.cfg.DrainTimeout)
		}
	case <-ctx.Done():
		e.nc.Close()
		<-e.closed
		err = fmt.Errorf("engine: drain the NATS connection: %w", ctx.Err())
	}
	e.stopServer()
	e.logger.Info("nats: closed")
	return err
}

// stopServer shuts the embedded server down, if any, waits until it has
// stopped and removes its temporary JetStream directory.
func (e *Engine) stopServer() {
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	}
	e.removeTempDir()
}

func (e *Engine) removeTempDir() {
	if e.tempDir == "" {
		return
	}
	if err := os.RemoveAll(e.tempDir); err != nil {
		e.logger.Warn("nats: remove the temporary JetStream directory", zap.String("dir", e.tempDir), zap.Error(err))
	}
}
