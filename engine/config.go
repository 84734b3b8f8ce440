package engine

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wegomesh/wego/config"
)

// Section is the configuration section the engine reads ([LoadConfig]).
const Section = "nats"

// maxPayloadLimit is the largest message NATS allows a server to accept.
const maxPayloadLimit = 64 << 20

// Config is the engine's configuration section, "nats". Keys the section
// does not set keep their defaults ([DefaultConfig]).
//
// The engine connects to the servers that URLs names. With no URLs it
// embeds a server in the process ([ServerConfig]) and connects to it
// in-process: an application needs nothing installed to run, and a
// deployment points it at a cluster by setting urls.
type Config struct {
	// URLs are the servers to connect to, such as "nats://10.0.0.1:4222";
	// give several servers of one cluster so that the connection starts
	// whichever of them answers and fails over to the others. Empty (the
	// default) embeds a server instead.
	URLs []string `mapstructure:"urls"`
	// Embedded asks for the embedded server explicitly. It is what an
	// empty URLs means anyway, and an error beside URLs: an embedded
	// server joins other servers through Server.Cluster.Routes, not URLs.
	Embedded bool `mapstructure:"embedded"`
	// Name is the connection's name, shown by the servers' monitoring and
	// the nats CLI. Default "wego".
	Name string `mapstructure:"name"`
	// Credentials is the path of a credentials file (a user JWT and its
	// NKey seed) for the servers of URLs. Default: none.
	Credentials string `mapstructure:"credentials"`
	// TLS configures TLS towards the servers of URLs. Default: none (the
	// connection still upgrades to TLS when a server requires it).
	TLS TLSConfig `mapstructure:"tls"`
	// ConnectTimeout bounds opening the connection to one server. Default
	// 2s.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// ReconnectWait is the pause between two attempts to reconnect to the
	// same server, and the longest pause between two attempts at start
	// when WaitAtStart is set. Default 2s.
	ReconnectWait time.Duration `mapstructure:"reconnect_wait"`
	// MaxReconnects is how many times in a row the connection tries to
	// reconnect to each server before it gives up and closes for good;
	// -1 (the default) tries forever.
	MaxReconnects int `mapstructure:"max_reconnects"`
	// PingInterval is how often the connection pings its server; two pings
	// without an answer mark the connection stale, and it reconnects.
	// Default 20s.
	PingInterval time.Duration `mapstructure:"ping_interval"`
	// WaitAtStart makes [Start] keep trying, with a backoff that grows to
	// ReconnectWait, until a server of URLs answers or Start's context
	// ends, logging each failed attempt. Default false: Start fails at
	// once with an error that names the URLs.
	WaitAtStart bool `mapstructure:"wait_at_start"`
	// DrainTimeout bounds [Engine.Close]'s drain: the time subscriptions
	// have to finish the messages they hold. Default 10s.
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
	// Server configures the embedded server.
	Server ServerConfig `mapstructure:"server"`
}

// TLSConfig names the files of a TLS connection to the servers of
// [Config.URLs], in PEM.
type TLSConfig struct {
	// CA is the file of the certificate authorities that signed the
	// servers' certificates. Default: the system's.
	CA string `mapstructure:"ca"`
	// Cert and Key are the files of the client's certificate and private
	// key, for servers that verify clients. Set both or neither.
	Cert string `mapstructure:"cert"`
	Key  string `mapstructure:"key"`
}

// enabled reports whether any TLS setting is given.
func (t TLSConfig) enabled() bool { return t.CA != "" || t.Cert != "" || t.Key != "" }

// ServerConfig is the embedded server's configuration, the section
// "nats.server".
type ServerConfig struct {
	// Name is the server's name, which must be unique and stable across
	// restarts in a cluster with JetStream. Default: a name the server
	// makes up each time it starts.
	Name string `mapstructure:"name"`
	// Listen is the host:port where the server accepts clients, such as
	// the nats CLI or other processes of the application. Port 0 or -1
	// picks a free port (see [Engine.ClientURL]); tests use
	// "127.0.0.1:-1". Default "127.0.0.1:4222", NATS's own port on
	// loopback only.
	Listen string `mapstructure:"listen"`
	// JetStream turns on NATS's persistence layer, which streams and
	// key-value buckets need. Default true.
	JetStream bool `mapstructure:"jetstream"`
	// StoreDir is the directory JetStream stores its data in. Default:
	// a fresh directory under the system's temporary directory, removed
	// when the engine closes; set it to keep data across restarts.
	StoreDir string `mapstructure:"store_dir"`
	// SyncInterval is when JetStream makes its writes durable on disk
	// (fsync): "always" (the default) syncs each write before the server
	// acknowledges it, so that an acknowledged write survives a crash of
	// the machine; a duration such as "2m" (NATS's own default) syncs in
	// the background that often, which writes faster but loses the
	// writes of the last interval when the machine (not just the
	// process) crashes.
	SyncInterval string `mapstructure:"sync_interval"`
	// MaxPayload is the largest message, in bytes, the server accepts, at
	// most 64 MiB. Default 0: NATS's default, 1 MiB.
	MaxPayload int `mapstructure:"max_payload"`
	// PingInterval is how often the server pings a client that has sent
	// nothing meanwhile. Default 500ms.
	PingInterval time.Duration `mapstructure:"ping_interval"`
	// MaxPingsOut is how many pings a client may leave unanswered; one
	// more and the server closes the connection as stale, removing its
	// subscriptions: a replica that is frozen (SIGSTOP, a stuck host)
	// leaves its queue groups within about (MaxPingsOut+1) ×
	// PingInterval, 1.5 s by default, instead of NATS's 4 minutes.
	// Default 2.
	MaxPingsOut int `mapstructure:"max_pings_out"`
	// Cluster makes the server one node of a cluster.
	Cluster ClusterConfig `mapstructure:"cluster"`
}

// ClusterConfig makes the embedded server a node of a cluster: each node
// listens for routes from the others and connects to the routes it is
// given; one route to any node is enough for a node to find all of them.
type ClusterConfig struct {
	// Name is the cluster's name, the same on every node; required with
	// JetStream. Default: none, the nodes agree on a generated one.
	Name string `mapstructure:"name"`
	// Listen is the host:port where the node accepts routes from the other
	// nodes; port 0 or -1 picks a free port. Default: none, the server is
	// no cluster node.
	Listen string `mapstructure:"listen"`
	// Routes are the route URLs of other nodes, such as
	// "nats-route://10.0.0.2:6222". Default: none.
	Routes []string `mapstructure:"routes"`
}

// enabled reports whether the server is a cluster node.
func (c ClusterConfig) enabled() bool { return c.Listen != "" }

// SyncAlways is the value of [ServerConfig.SyncInterval] that syncs every
// write to disk before it is acknowledged: the default.
const SyncAlways = "always"

// DefaultConfig returns the defaults of the "nats" section: an embedded
// server on 127.0.0.1:4222 with JetStream in a temporary directory, syncing
// each write before acknowledging it, and a connection that reconnects
// forever.
func DefaultConfig() Config {
	return Config{
		Name:           "wego",
		ConnectTimeout: 2 * time.Second,
		ReconnectWait:  2 * time.Second,
		MaxReconnects:  -1,
		PingInterval:   20 * time.Second,
		DrainTimeout:   10 * time.Second,
		Server: ServerConfig{
			Listen:       "127.0.0.1:4222",
			JetStream:    true,
			SyncInterval: SyncAlways,
			PingInterval: 500 * time.Millisecond,
			MaxPingsOut:  2,
		},
	}
}

// LoadConfig reads the "nats" section of c over [DefaultConfig] and
// validates it; its errors are [*config.Error]s that name the key and where
// its value came from.
func LoadConfig(c *config.Config) (Config, error) {
	return config.GetWithDefaults(c, Section, DefaultConfig())
}

// embedded reports whether the engine embeds a server.
func (c *Config) embedded() bool { return len(c.URLs) == 0 }

// Validate reports a value that cannot work, as a [*config.Error] whose
// key is relative to the section ("server.listen").
func (c *Config) Validate() error {
	for i, u := range c.URLs {
		if err := checkURL(u, "nats", "tls", "ws", "wss"); err != nil {
			return &config.Error{Key: "urls", Err: fmt.Errorf("URL %d: %w", i+1, err)}
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"connect_timeout", c.ConnectTimeout}, {"reconnect_wait", c.ReconnectWait},
		{"ping_interval", c.PingInterval}, {"drain_timeout", c.DrainTimeout}} {
		if d.v <= 0 {
			return &config.Error{Key: d.key, Err: fmt.Errorf("%s is not a positive duration", d.v)}
		}
	}
	switch {
	case c.Embedded && !c.embedded():
		return &config.Error{Key: "embedded", Err: fmt.Errorf(
			"an embedded server and urls exclude each other: connect to the servers of urls, or embed a server (which joins others through server.cluster.routes)")}
	case c.MaxReconnects < -1:
		return &config.Error{Key: "max_reconnects", Err: fmt.Errorf("%d is neither a count nor -1 (forever)", c.MaxReconnects)}
	case c.TLS.Cert != "" && c.TLS.Key == "":
		return &config.Error{Key: "tls.key", Err: fmt.Errorf("tls.cert is set without its key")}
	case c.TLS.Key != "" && c.TLS.Cert == "":
		return &config.Error{Key: "tls.cert", Err: fmt.Errorf("tls.key is set without its certificate")}
	}
	if c.embedded() {
		// The embedded server is reached in-process: settings for remote
		// servers would be silently unused.
		switch {
		case c.Credentials != "":
			return &config.Error{Key: "credentials", Err: fmt.Errorf("applies to the servers of urls, and none is set: the embedded server is reached in-process")}
		case c.TLS.enabled():
			return &config.Error{Key: "tls", Err: fmt.Errorf("applies to the servers of urls, and none is set: the embedded server is reached in-process")}
		}
		return c.Server.validate()
	}
	return nil
}

// validate checks the embedded server's settings, with keys relative to
// the "nats" section.
func (s *ServerConfig) validate() error {
	if _, _, err := splitListen(s.Listen); err != nil {
		return &config.Error{Key: "server.listen", Err: err}
	}
	if s.PingInterval <= 0 {
		return &config.Error{Key: "server.ping_interval", Err: fmt.Errorf("%s is not a positive duration", s.PingInterval)}
	}
	if s.MaxPingsOut < 1 {
		return &config.Error{Key: "server.max_pings_out", Err: fmt.Errorf("%d is not a count of at least 1", s.MaxPingsOut)}
	}
	if _, err := s.syncInterval(); err != nil {
		return &config.Error{Key: "server.sync_interval", Err: err}
	}
	if s.MaxPayload < 0 || s.MaxPayload > maxPayloadLimit {
		return &config.Error{Key: "server.max_payload", Err: fmt.Errorf("%d is not a size from 1 to 64 MiB (0 for the default)", s.MaxPayload)}
	}
	c := &s.Cluster
	if !c.enabled() {
		switch {
		case len(c.Routes) > 0:
			return &config.Error{Key: "server.cluster.listen", Err: fmt.Errorf("routes are set but not where to listen for them: a node accepts routes as well as opening them")}
		case c.Name != "":
			return &config.Error{Key: "server.cluster.listen", Err: fmt.Errorf("the cluster has a name but the server does not listen for routes")}
		}
		return nil
	}
	if _, _, err := splitListen(c.Listen); err != nil {
		return &config.Error{Key: "server.cluster.listen", Err: err}
	}
	for i, r := range c.Routes {
		if err := checkURL(r, "nats-route", "nats"); err != nil {
			return &config.Error{Key: "server.cluster.routes", Err: fmt.Errorf("route %d: %w", i+1, err)}
		}
	}
	if s.JetStream {
		switch {
		case c.Name == "":
			return &config.Error{Key: "server.cluster.name", Err: fmt.Errorf("a cluster with JetStream needs a name, the same on every node")}
		case s.Name == "":
			return &config.Error{Key: "server.name", Err: fmt.Errorf("a cluster node with JetStream needs a name, unique in the cluster and the same across restarts")}
		}
	}
	return nil
}

// syncInterval parses SyncInterval: 0 for "always" (and for empty, which
// a Config made by hand without DefaultConfig has), or the interval.
func (s *ServerConfig) syncInterval() (time.Duration, error) {
	if s.SyncInterval == "" || s.SyncInterval == SyncAlways {
		return 0, nil
	}
	d, err := time.ParseDuration(s.SyncInterval)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is neither %q nor a positive duration such as \"2m\"", s.SyncInterval, SyncAlways)
	}
	return d, nil
}

// splitListen parses a listen address, host:port, into the host and the
// port as the server takes it: -1 for any free port.
func splitListen(addr string) (host string, port int, err error) {
	if addr == "" {
		return "", 0, fmt.Errorf("empty address")
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not a TCP port (0 or -1 for any free port)", addr, p)
	}
	if port == 0 {
		port = -1
	}
	return host, port, nil
}

// checkURL reports a URL that is not [scheme://]host[:port] with one of
// the schemes given; the first is the one assumed when s has none.
func checkURL(s string, schemes ...string) error {
	if !strings.Contains(s, "://") {
		s = schemes[0] + "://" + s // as the client reads it
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", redact(s))
	}
	ok := false
	for _, sc := range schemes {
		ok = ok || u.Scheme == sc
	}
	switch {
	case !ok:
		return fmt.Errorf("%q: the scheme is not %s://", u.Redacted(), schemes[0])
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q names no host", u.Redacted())
	}
	return nil
}

// redact returns s with the password of its user information, if any,
// replaced by "xxxxx", and "nats://" before it when it has no scheme, as
// the client reads it.
func redact(s string) string {
	if !strings.Contains(s, "://") {
		s = "nats://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}
