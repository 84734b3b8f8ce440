package httptransport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/transport"
)

// Server is the HTTP transport: it serves a catalog's commands, probes
// and documents on one listener. It implements [transport.Transport];
// the application starts and stops it.
//
// A Server reads each request head before net/http does, on every
// connection it accepts, so that a request whose body length a proxy
// could read otherwise ([ErrBadFraming]) or with an unsupported Expect
// ([ErrExpectationFailed]) gets a JSON answer and its connection closes
// before anything after it is read; a chunked request closes its
// connection after its answer. With [TLS] it speaks HTTP/1.1 only.
type Server struct {
	opts  []ServerOption
	ready atomic.Bool
	cur   atomic.Pointer[handler]

	mu   sync.Mutex // guards what follows
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returns
	err  error         // what Serve returned, other than ErrServerClosed

	drainDelay time.Duration
	tls        bool
}

// NewServer returns a server configured by opts over the "http" section
// of the configuration it gets at [Server.Start]. It does no I/O.
func NewServer(opts ...ServerOption) *Server {
	return &Server{opts: opts}
}

// Name returns "http".
func (s *Server) Name() string { return "http" }

// Start builds the routes of host.Catalog's commands, binds the listener
// and serves in the background; it returns once the server accepts
// connections, and /readyz turns 200. It fails, naming the key or the
// command, on a wrong configuration value, a malformed or conflicting
// route, or an address it cannot bind; and when the server is started
// already.
func (s *Server) Start(_ context.Context, host transport.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("httptransport: server started twice")
	}
	set, err := loadServerSettings(host.Config, s.opts)
	if err != nil {
		return err
	}
	h, err := newHandler(host, set, &s.ready)
	if err != nil {
		return err
	}
	ln := set.listener
	if ln == nil {
		ln, err = net.Listen("tcp", set.Addr)
		if err != nil {
			return fmt.Errorf("httptransport: listen on %s (key http.addr): %w", set.Addr, err)
		}
	}
	// The guard reads each request head before net/http (see guard.go);
	// it serves TLS itself, over HTTP/1.1.
	ln = newGuardListener(ln, netHTTPHeaderLimit(set.MaxHeaderBytes)+4096, set.tls, handshakeTimeout(set))
	logger := h.log
	stdLog, err := zap.NewStdLogAt(logger.Named("http"), zap.WarnLevel)
	if err != nil {
		stdLog = nil
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: set.ReadHeaderTimeout,
		ReadTimeout:       set.ReadTimeout,
		WriteTimeout:      set.WriteTimeout,
		IdleTimeout:       set.IdleTimeout,
		MaxHeaderBytes:    netHTTPHeaderLimit(set.MaxHeaderBytes),
		ErrorLog:          stdLog,
		ConnContext:       guardContext,
		// OPTIONS * reaches the handler, which answers it in JSON.
		DisableGeneralOptionsHandler: true,
	}
	s.cur.Store(h)
	s.srv, s.ln, s.done = srv, ln, make(chan struct{})
	s.drainDelay, s.tls = set.DrainDelay, set.tls != nil
	go func(done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http: server failed", zap.Error(err))
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}(s.done)
	s.ready.Store(true)
	logger.Info("http: serving", zap.String("addr", ln.Addr().String()))
	return nil
}

// Addr returns the address the server listens on once started, such as
// "127.0.0.1:43121" for the address "127.0.0.1:0", or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL returns the base URL to reach the server from this machine after
// Start ("http://localhost:8080" when it listens on every interface), or ""
// before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(s.ln.Addr().String())
	if err != nil {
		return scheme + "://" + s.ln.Addr().String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Endpoints returns where the server is reached, {"http": URL()}, which
// the application registers as its node's endpoint; nil before Start.
func (s *Server) Endpoints() map[string]string {
	if u := s.URL(); u != "" {
		return map[string]string{"http": u}
	}
	return nil
}

// Handler returns the server's handler, to mount in another mux or test
// with httptest. Before Start it answers /healthz with 200 and everything
// else with a 503 WeGO error.
func (s *Server) Handler() http.Handler { return serverHandler{s} }

type serverHandler struct{ s *Server }

func (sh serverHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := sh.s.cur.Load(); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	notStarted := &handler{core: transport.NewCore("http", transport.Host{}, transport.CoreLimits{}), log: zap.NewNop(), ready: &sh.s.ready}
	if r.URL.Path == "/healthz" {
		notStarted.healthz(w, r)
		return
	}
	id, idh := requestID(r)
	w.Header()[canonRequestID] = idh
	notStarted.writeError(w, r, log.ContextWithRequestID(r.Context(), id), id, errs.Unavailable(), true)
}

// Stop drains the server: /readyz turns 503 and keep-alive ends (every
// answer from then on carries Connection: close and closes its
// connection, so that no client sends another request on a connection
// about to close), then the listener closes so that new connections are
// refused, idle connections close, and in-flight requests finish until
// ctx is done; connections still busy then are closed, and Stop returns
// ctx's error. Stop before Start does nothing.
//
// Keep-alive ends through the answers rather than
// http.Server.SetKeepAlivesEnabled(false), which also closes the idle
// connections at once: one whose request net/http has just read is closed
// too, and the request still runs, its answer lost. Shutdown, which
// closes them later, does not run such a request.
func (s *Server) Stop(ctx context.Context) error {
	s.ready.Store(false)
	s.mu.Lock()
	srv, done, delay := s.srv, s.done, s.drainDelay
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if h := s.cur.Load(); h != nil {
		h.limit.stop()
	}
	if delay > 0 {
		// Keep serving while load balancers see /readyz fail and stop
		// sending new requests; then stop accepting.
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-done
	s.mu.Lock()
	serveErr := s.err
	s.mu.Unlock()
	return errors.Join(err, serveErr)
}

// handshakeTimeout bounds a TLS handshake: read_header_timeout, else
// read_timeout, else 10s.
func handshakeTimeout(set *serverSettings) time.Duration {
	for _, d := range []time.Duration{set.ReadHeaderTimeout, set.ReadTimeout} {
		if d > 0 {
			return d
		}
	}
	return 10 * time.Second
}

// netHTTPHeaderLimit returns the http.Server.MaxHeaderBytes that makes
// net/http answer 431 once the request line and headers exceed limit:
// net/http reads 4096 bytes beyond its own setting before it refuses, so
// limits below about 4 KiB are enforced as 4 KiB.
func netHTTPHeaderLimit(limit int) int {
	const slack = 4096
	if limit > slack {
		return limit - slack
	}
	return 1
}

var _ transport.Transport = (*Server)(nil)
