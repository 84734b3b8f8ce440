// Package enginetest starts NATS engines for tests: an engine that
// embeds a server on a free loopback port with JetStream in a directory
// of the test, engines connected to it as other processes' would be, and
// a server that a test stops and starts again on the same port and
// directory, as a crash or an upgrade would. Each is closed when the test
// ends.
//
//	srv := enginetest.Start(t)
//	s, err := natsstore.New(enginetest.Client(t, srv.ClientURL()), store.Config{Name: "orders"}, zap.NewNop())
package enginetest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
)

// Option changes the configuration of an engine that [Start], [Client]
// or [NewServer] starts; a test may pass its own function.
type Option func(*engine.Config)

// NoJetStream turns JetStream off: a server for NATS core alone, which
// starts faster and writes nothing to disk.
func NoJetStream() Option { return func(c *engine.Config) { c.Server.JetStream = false } }

// StoreDir keeps JetStream's data in dir instead of a new directory of
// the test: for a test that starts a server on what another left.
func StoreDir(dir string) Option { return func(c *engine.Config) { c.Server.StoreDir = dir } }

// embedded returns the configuration that [Start] starts: the engine's
// defaults with a server on a free loopback port, changed by opts, and
// JetStream, unless opts turned it off, in a new directory of the test
// unless opts named one.
func embedded(t testing.TB, opts ...Option) engine.Config {
	t.Helper()
	cfg := engine.DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:-1"
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Server.JetStream && cfg.Server.StoreDir == "" {
		cfg.Server.StoreDir = t.TempDir()
	}
	return cfg
}

// Start starts an engine that embeds a NATS server on a free loopback
// port ([engine.Engine.ClientURL] tells which) with JetStream in a new
// directory of the test, and closes it when the test ends. It fails the
// test when the engine does not start.
func Start(t testing.TB, opts ...Option) *engine.Engine {
	t.Helper()
	return start(t, embedded(t, opts...))
}

// Client starts an engine connected to the server at url, as the engine
// of another process would be, that reconnects 50 ms after it loses the
// server (the engine's default is 2 s); closed when the test ends.
func Client(t testing.TB, url string, opts ...Option) *engine.Engine {
	t.Helper()
	cfg := engine.DefaultConfig()
	cfg.URLs = []string{url}
	cfg.ReconnectWait = 50 * time.Millisecond
	for _, o := range opts {
		o(&cfg)
	}
	return start(t, cfg)
}

// start starts an engine of cfg and closes it when the test ends. It
// fails the test when the engine does not start.
func start(t testing.TB, cfg engine.Config) *engine.Engine {
	t.Helper()
	e, err := engine.Start(context.Background(), cfg, zap.NewNop())
	if err != nil {
		t.Fatalf("enginetest: start an engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// FreePort returns a loopback port that nothing listens on now, for a
// server that must come back on the port it had.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("enginetest: find a free port: %v", err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// Server is an embedded NATS server that a test stops and starts again on
// the same port and JetStream directory, as a crash or an upgrade would;
// the engines connected to it ([Client]) reconnect when it is back. Its
// methods are safe for concurrent use.
type Server struct {
	t   testing.TB
	cfg engine.Config

	mu  sync.Mutex
	eng *engine.Engine // nil while stopped
}

// NewServer starts a [Server] as [Start] would, on a port of its own
// ([FreePort]) and with the stable server name "restarted" that JetStream
// needs to find its data again, and stops it when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := embedded(t, opts...)
	cfg.Server.Listen = "127.0.0.1:" + FreePort(t)
	if cfg.Server.Name == "" {
		cfg.Server.Name = "restarted"
	}
	s := &Server{t: t, cfg: cfg}
	s.Start()
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// URL returns the URL the server listens on, the same after a restart.
func (s *Server) URL() string { return "nats://" + s.cfg.Server.Listen }

// Engine returns the engine that embeds the server, or nil while the
// server is stopped. A restart makes a new one.
func (s *Server) Engine() *engine.Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eng
}

// Stop closes the server, as a crash would for its clients: they lose
// their connections and try to reconnect. It returns the error of
// [engine.Engine.Close]; stopping a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	e := s.eng
	s.eng = nil
	s.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.Close(context.Background())
}

// Start starts the server again, on its port and directory, and fails the
// test when it does not start. Starting a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng != nil {
		return
	}
	e, err := engine.Start(context.Background(), s.cfg, zap.NewNop())
	if err != nil {
		s.t.Fatalf("enginetest: start the server on %s: %v", s.cfg.Server.Listen, err)
	}
	s.eng = e
}
