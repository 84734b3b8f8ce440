package httptransport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/transport/balance"
)

// ServerConfig is the server's configuration section, "http". Keys the
// section does not set keep their defaults ([DefaultServerConfig]);
// [ServerOption]s override the section.
type ServerConfig struct {
	// Addr is the address to listen on. Default ":8080".
	Addr string `mapstructure:"addr"`
	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// MaxHeaderBytes bounds the request line and headers; larger ones get
	// 431 from net/http. Limits below 4 KiB are enforced as 4 KiB (net/http
	// reads that much beyond its setting). Default 64 KiB.
	MaxHeaderBytes int `mapstructure:"max_header_bytes"`
	// ReadHeaderTimeout bounds reading the request headers. Default 5s.
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout time.Duration `mapstructure:"read_timeout"`
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response; net/http closes the connection when it
	// passes, without cancelling the command, so a command's budget
	// (CommandTimeout) ends before it. Default 30s; 0 means none.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default
	// 120s.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// CommandTimeout is the budget of each command served here, from the
	// start of its request's handling (reading the body included) to its
	// answer: when it ends, the command's context ends, and a command that
	// fails for it is answered 504 deadline_exceeded while the connection
	// can still carry the answer. It must leave at least a tenth of
	// WriteTimeout for that. Commands that run to completion get this
	// budget at most (timeout.WithServerDeadline). Default 0: five sixths
	// of WriteTimeout (25s), or none when WriteTimeout is 0. See
	// [ServerConfig.CommandBudget].
	CommandTimeout time.Duration `mapstructure:"command_timeout"`
	// MaxTimeout caps the deadline a caller asks for with X-Wego-Timeout;
	// it cannot exceed the command budget. Default 0: the command budget.
	MaxTimeout time.Duration `mapstructure:"max_timeout"`
	// DrainDelay is how long Stop keeps serving after /readyz turns 503,
	// so that load balancers stop sending requests before the listener
	// closes. Default 0; behind a load balancer, set it to a little more
	// than its readiness probe period (for example 5s).
	DrainDelay time.Duration `mapstructure:"drain_delay"`

	// Resource bounds.

	// MaxConcurrent bounds the requests to commands that the server
	// serves at once; one more gets 503 transport.overloaded with Retry-After:
	// 1, before its body is read. Probes, the listing and the OpenAPI
	// document are not counted. Default 0: derived from the memory the
	// process may use and MaxBodyBytes (see [ServerConfig.ConcurrencyLimit]).
	MaxConcurrent int `mapstructure:"max_concurrent"`
	// MemoryReleaseDelay: once request bodies over 64 KiB have added up to
	// 4 MiB since the last time, the server returns the memory they freed
	// to the operating system (debug.FreeOSMemory) when no request has
	// been in flight for this long; the Go runtime alone would keep it for
	// minutes. Default 1s; 0 turns it off.
	MemoryReleaseDelay time.Duration `mapstructure:"memory_release_delay"`

	// TLS makes the server speak HTTPS, and verify client certificates
	// (section http.tls). Default: plain HTTP.
	TLS ServerTLSConfig `mapstructure:"tls"`
}

// DefaultServerConfig returns the defaults of the "http" section.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		Addr:               ":8080",
		MaxBodyBytes:       1 << 20,
		MaxHeaderBytes:     64 << 10,
		ReadHeaderTimeout:  5 * time.Second,
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        120 * time.Second,
		MemoryReleaseDelay: time.Second,
	}
}

// Validate reports a value that cannot work, naming its key.
func (c *ServerConfig) Validate() error {
	switch {
	case c.Addr == "":
		return &config.Error{Key: "addr", Err: fmt.Errorf("empty address")}
	case c.MaxBodyBytes <= 0:
		return &config.Error{Key: "max_body_bytes", Err: fmt.Errorf("%d is not a positive size", c.MaxBodyBytes)}
	case c.MaxHeaderBytes <= 0:
		return &config.Error{Key: "max_header_bytes", Err: fmt.Errorf("%d is not a positive size", c.MaxHeaderBytes)}
	case c.ReadHeaderTimeout < 0:
		return &config.Error{Key: "read_header_timeout", Err: fmt.Errorf("negative duration %s", c.ReadHeaderTimeout)}
	case c.ReadTimeout < 0:
		return &config.Error{Key: "read_timeout", Err: fmt.Errorf("negative duration %s", c.ReadTimeout)}
	case c.WriteTimeout < 0:
		return &config.Error{Key: "write_timeout", Err: fmt.Errorf("negative duration %s", c.WriteTimeout)}
	case c.IdleTimeout < 0:
		return &config.Error{Key: "idle_timeout", Err: fmt.Errorf("negative duration %s", c.IdleTimeout)}
	case c.DrainDelay < 0:
		return &config.Error{Key: "drain_delay", Err: fmt.Errorf("negative duration %s", c.DrainDelay)}
	case c.MaxConcurrent < 0:
		return &config.Error{Key: "max_concurrent", Err: fmt.Errorf("%d is negative", c.MaxConcurrent)}
	case c.MemoryReleaseDelay < 0:
		return &config.Error{Key: "memory_release_delay", Err: fmt.Errorf("negative duration %s", c.MemoryReleaseDelay)}
	}
	if err := c.TLS.Validate(); err != nil {
		return config.Under("tls", err)
	}
	return c.validateBudgets()
}

// validateBudgets checks the time budgets against each other: a command's
// budget leaves time to write its answer before the write timeout, and no
// caller gets more time than a command has.
func (c *ServerConfig) validateBudgets() error {
	switch {
	case c.CommandTimeout < 0:
		return &config.Error{Key: "command_timeout", Err: fmt.Errorf("negative duration %s", c.CommandTimeout)}
	case c.MaxTimeout < 0:
		return &config.Error{Key: "max_timeout", Err: fmt.Errorf("negative duration %s", c.MaxTimeout)}
	case c.WriteTimeout > 0 && c.CommandTimeout > c.WriteTimeout-c.WriteTimeout/10:
		return &config.Error{Key: "command_timeout", Err: fmt.Errorf(
			"%s leaves less than a tenth of http.write_timeout (%s) to write the answer: at most %s",
			c.CommandTimeout, c.WriteTimeout, c.WriteTimeout-c.WriteTimeout/10)}
	}
	if b := c.CommandBudget(); b > 0 && c.MaxTimeout > b {
		return &config.Error{Key: "max_timeout", Err: fmt.Errorf(
			"%s is longer than the command budget (%s, http.command_timeout): a caller cannot be given more time than a command has",
			c.MaxTimeout, b)}
	}
	return nil
}

// CommandBudget returns the budget of the commands served: CommandTimeout,
// or when it is 0 five sixths of WriteTimeout (to the millisecond below);
// 0 (none) when both are 0.
func (c *ServerConfig) CommandBudget() time.Duration {
	if c.CommandTimeout > 0 {
		return c.CommandTimeout
	}
	return (c.WriteTimeout - c.WriteTimeout/6).Truncate(time.Millisecond)
}

// callerCap returns the longest deadline a caller may ask for with
// X-Wego-Timeout, 0 for no cap.
func (c *ServerConfig) callerCap() time.Duration {
	if c.MaxTimeout > 0 {
		return c.MaxTimeout
	}
	return c.CommandBudget()
}

// serverSettings is the configuration plus what only options can give.
type serverSettings struct {
	ServerConfig
	listener net.Listener
	tls      *tls.Config
}

// ServerOption configures a [Server] or [NewHandler]. Options override the
// "http" configuration section.
type ServerOption interface{ applyServer(*serverSettings) }

type serverOption func(*serverSettings)

func (f serverOption) applyServer(s *serverSettings) { f(s) }

// Addr sets the address to listen on, such as "127.0.0.1:0" (any free
// port; see [Server.Addr]). Default: the section's addr, ":8080".
func Addr(addr string) ServerOption {
	return serverOption(func(s *serverSettings) { s.Addr = addr })
}

// Listener makes the server serve on l instead of listening on an
// address; the server closes l when it stops. Default: none.
func Listener(l net.Listener) ServerOption {
	return serverOption(func(s *serverSettings) { s.listener = l })
}

// MaxBodyBytes bounds request bodies. Default: max_body_bytes, 1 MiB.
func MaxBodyBytes(n int64) ServerOption {
	return serverOption(func(s *serverSettings) { s.MaxBodyBytes = n })
}

// MaxHeaderBytes bounds request headers. Default: max_header_bytes, 64 KiB.
func MaxHeaderBytes(n int) ServerOption {
	return serverOption(func(s *serverSettings) { s.MaxHeaderBytes = n })
}

// Timeouts sets the read-header, read, write and idle timeouts; a zero
// argument keeps the configured value. Defaults: 5s, 30s, 30s, 120s.
func Timeouts(readHeader, read, write, idle time.Duration) ServerOption {
	return serverOption(func(s *serverSettings) {
		for _, p := range []struct {
			dst *time.Duration
			v   time.Duration
		}{{&s.ReadHeaderTimeout, readHeader}, {&s.ReadTimeout, read}, {&s.WriteTimeout, write}, {&s.IdleTimeout, idle}} {
			if p.v != 0 {
				*p.dst = p.v
			}
		}
	})
}

// MaxTimeout caps the deadline callers ask for with X-Wego-Timeout; at
// most the command budget. Default: max_timeout, the command budget.
func MaxTimeout(d time.Duration) ServerOption {
	return serverOption(func(s *serverSettings) { s.MaxTimeout = d })
}

// CommandTimeout sets the budget of each command served (see
// [ServerConfig.CommandTimeout]). Default: command_timeout, five sixths
// of the write timeout.
func CommandTimeout(d time.Duration) ServerOption {
	return serverOption(func(s *serverSettings) { s.CommandTimeout = d })
}

// DrainDelay sets how long Stop keeps serving, keep-alive off, after
// /readyz turns 503. Default: drain_delay, 0.
func DrainDelay(d time.Duration) ServerOption {
	return serverOption(func(s *serverSettings) { s.DrainDelay = d })
}

// MaxConcurrent bounds the requests to commands served at once. Default:
// max_concurrent, derived from memory and the body limit.
func MaxConcurrent(n int) ServerOption {
	return serverOption(func(s *serverSettings) { s.MaxConcurrent = n })
}

// TLS makes the server speak HTTPS with cfg, which must hold a
// certificate. Default: plain HTTP.
func TLS(cfg *tls.Config) ServerOption {
	return serverOption(func(s *serverSettings) { s.tls = cfg })
}

// loadServerSettings reads the "http" section of c (when c is not nil)
// over the defaults, then applies opts.
func loadServerSettings(c *config.Config, opts []ServerOption) (*serverSettings, error) {
	s := &serverSettings{ServerConfig: DefaultServerConfig()}
	if c != nil {
		cfg, err := config.GetWithDefaults(c, "http", s.ServerConfig)
		if err != nil {
			return nil, err
		}
		s.ServerConfig = cfg
	}
	for _, o := range opts {
		if o != nil {
			o.applyServer(s)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("httptransport: option: %w", config.Under("http", err))
	}
	if s.tls == nil {
		cfg, err := s.TLS.Config()
		if err != nil {
			err = config.Under("http.tls", err)
			if c != nil {
				err = withFile(err, c.File())
			}
			return nil, err
		}
		s.tls = cfg
	}
	return s, nil
}

// withFile sets the file of a configuration error that names none.
func withFile(err error, file string) error {
	if ce, ok := errors.AsType[*config.Error](err); ok && ce.File == "" && ce.Source == "" {
		cp := *ce
		cp.File = file
		return &cp
	}
	return err
}

// ClientConfig is the remote routes' configuration section,
// "http_client". Keys the section does not set keep their defaults
// ([DefaultClientConfig]); [ClientOption]s override the section.
type ClientConfig struct {
	// DialTimeout bounds opening a TCP connection. Default 5s.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// TLSHandshakeTimeout bounds the TLS handshake. Default 10s.
	TLSHandshakeTimeout time.Duration `mapstructure:"tls_handshake_timeout"`
	// ResponseHeaderTimeout bounds the wait for a response's headers once
	// the request is sent, that is how long a remote command may run
	// unless the call's deadline is shorter. It must be below the command
	// budget of the process's own server (http.command_timeout), so that a
	// command waiting for a remote one still has time to answer or undo
	// what it did: route factories refuse it otherwise. Default 20s.
	ResponseHeaderTimeout time.Duration `mapstructure:"response_header_timeout"`
	// IdleConnTimeout closes idle keep-alive connections. Default 90s.
	IdleConnTimeout time.Duration `mapstructure:"idle_conn_timeout"`
	// MaxIdleConnsPerHost is the number of idle keep-alive connections
	// kept per server. Default 256.
	MaxIdleConnsPerHost int `mapstructure:"max_idle_conns_per_host"`
	// MaxConnsPerHost limits connections per server, 0 for no limit.
	// Default 0.
	MaxConnsPerHost int `mapstructure:"max_conns_per_host"`
	// MaxResponseBytes bounds response bodies; a larger one is
	// [ErrResponseTooLarge]. Default 4 MiB.
	MaxResponseBytes int64 `mapstructure:"max_response_bytes"`
	// Balance chooses the node of each call of a route with several base
	// URLs, and ejects the nodes that keep failing (section
	// http_client.balance, see package balance). Default
	// [balance.DefaultConfig]: power of two choices on calls in flight, a
	// node ejected after 5 server faults in a row.
	Balance balance.Config `mapstructure:"balance"`
	// TLS is how routes verify HTTPS servers, and the certificate they
	// present to servers that ask for one (section http_client.tls).
	// Default: the system's certificate authorities, no certificate.
	TLS ClientTLSConfig `mapstructure:"tls"`
}

// DefaultClientConfig returns the defaults of the "http_client" section.
func DefaultClientConfig() ClientConfig {
	return ClientConfig{
		DialTimeout:           5 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   256,
		MaxResponseBytes:      4 << 20,
		Balance:               balance.DefaultConfig(),
	}
}

// Validate reports a value that cannot work, naming its key.
func (c *ClientConfig) Validate() error {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"dial_timeout", c.DialTimeout}, {"tls_handshake_timeout", c.TLSHandshakeTimeout},
		{"response_header_timeout", c.ResponseHeaderTimeout}, {"idle_conn_timeout", c.IdleConnTimeout}} {
		if d.v < 0 {
			return &config.Error{Key: d.key, Err: fmt.Errorf("negative duration %s", d.v)}
		}
	}
	switch {
	case c.MaxIdleConnsPerHost < 0:
		return &config.Error{Key: "max_idle_conns_per_host", Err: fmt.Errorf("%d is negative", c.MaxIdleConnsPerHost)}
	case c.MaxConnsPerHost < 0:
		return &config.Error{Key: "max_conns_per_host", Err: fmt.Errorf("%d is negative", c.MaxConnsPerHost)}
	case c.MaxResponseBytes <= 0:
		return &config.Error{Key: "max_response_bytes", Err: fmt.Errorf("%d is not a positive size", c.MaxResponseBytes)}
	}
	if err := c.TLS.Validate(); err != nil {
		return config.Under("tls", err)
	}
	return config.Under("balance", c.Balance.Validate())
}

// checkRouteBudgets reports, naming both keys, a response_header_timeout
// (section http_client of c) that is not below the command budget of the
// process's server (section http): a command served here that waits that
// long for a remote one would run out of its own budget first, with no
// time left to answer its caller or undo what it did.
func checkRouteBudgets(c *config.Config) error {
	if c == nil {
		return nil
	}
	srv, err := config.GetWithDefaults(c, "http", DefaultServerConfig())
	if err != nil {
		return err
	}
	cl, err := config.GetWithDefaults(c, "http_client", DefaultClientConfig())
	if err != nil {
		return err
	}
	if b := srv.CommandBudget(); b > 0 && cl.ResponseHeaderTimeout >= b {
		return &config.Error{Key: "http_client.response_header_timeout", File: c.File(), Err: fmt.Errorf(
			"%s is not below the command budget %s (http.command_timeout, or five sixths of http.write_timeout): "+
				"a command waiting that long for a remote one would have no time left to answer or undo its work",
			cl.ResponseHeaderTimeout, b)}
	}
	return nil
}
