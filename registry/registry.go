package registry

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/internal/kinds"
)

// Errors of every implementation.
var (
	// ErrClosed is returned by a registry's methods after Close.
	ErrClosed = errors.New("registry: closed")
	// ErrNotReady is returned by Lookup before the registry has read its
	// backend's nodes once (a NATS registry before its Start).
	ErrNotReady = errors.New("registry: not ready: the nodes are not loaded yet")
)

// Registry is where the nodes of a mesh's services are found: each node
// registers itself with its endpoints and keeps its entry alive by
// heartbeats; callers look nodes up, or watch them, from a local copy
// that the registry keeps current.
//
// Entries live by heartbeat: a registered node's entry is written again
// every heartbeat interval, and expires one time-to-live (TTL) after the
// last write. A node that deregisters is gone from every Lookup and Watch
// at once; one whose process dies (SIGKILL), or whose registry is closed
// without deregistering it, is gone within the TTL.
//
// A Registry is safe for concurrent use. Implementations: [Memory] (one
// process) and package registry/natsregistry (NATS JetStream key-value);
// package registry/registrytest checks that an implementation keeps these
// promises.
type Registry interface {
	// Register writes node's entry and keeps it alive, writing it again
	// every heartbeat, until Deregister or Close. Registering a node
	// (service and ID) again replaces its entry. It fails, writing
	// nothing, on a node that [Node.Validate] rejects (the error wraps
	// [ErrInvalidNode]), and when the first write fails; later heartbeats
	// that fail are logged and retried, and the entry expires if they
	// keep failing for a TTL.
	Register(ctx context.Context, node Node) error
	// Deregister stops the heartbeats of the node and removes its entry,
	// so that it is gone at once for every registry's Lookup and Watch.
	// Removing a node that is not registered is not an error.
	Deregister(ctx context.Context, service, id string) error
	// Lookup returns the nodes of service, sorted by ID, from the local
	// copy: no I/O, no lock, no allocation. The slice and the nodes in it
	// are shared with every caller and must not be modified. No node is
	// an empty result, not an error; a malformed service name is an error
	// wrapping [ErrInvalidNode].
	Lookup(service string) ([]Node, error)
	// Watch returns a channel that receives the nodes of service, as
	// Lookup would return them: the current set first (empty when there
	// is none), then the whole set again after each change. A receiver
	// that falls behind gets the latest set, never a stale backlog. The
	// channel closes when ctx ends or the registry closes. Across a lost
	// connection to the backend the last set stays; once it returns, the
	// registry reads the backend again and sends what changed meanwhile.
	Watch(ctx context.Context, service string) (<-chan []Node, error)
	// Close stops every heartbeat and watch (their channels close) and
	// releases the registry's resources; later calls return ErrClosed.
	// It does not deregister: nodes still registered expire within the
	// TTL, as if their process had died, so deregister a node first to
	// remove it at once. Close is idempotent.
	Close(ctx context.Context) error
}

// Starter is implemented by registries that do I/O before they work, such
// as a NATS registry, which needs its engine started first. An
// application makes its registry when it is built and starts it after its
// engine and before its transports; the other methods fail (Register) or
// wait (Watch's first set) until then.
type Starter interface {
	// Start connects the registry to its backend and returns once it has
	// read the nodes there (Lookup answers), or with an error. Later calls
	// return the first one's result.
	Start(ctx context.Context) error
}

// Defaults of [Config].
const (
	// DefaultHeartbeat is how often a registered node's entry is written.
	DefaultHeartbeat = 2 * time.Second
	// DefaultTTL is how long an entry lives after its last write: three
	// heartbeats, so that one late or lost heartbeat does not drop a node.
	DefaultTTL = 3 * DefaultHeartbeat
)

// Config is the configuration section "registry".
type Config struct {
	// Kind is the implementation: "memory" (this process only) or "nats"
	// (the NATS engine's JetStream, package registry/natsregistry). Empty
	// (the default) means "nats" when the application has a NATS engine,
	// "memory" otherwise.
	Kind string `mapstructure:"kind"`
	// Heartbeat is how often a registered node's entry is written.
	// Default 2s.
	Heartbeat time.Duration `mapstructure:"heartbeat"`
	// TTL is how long an entry lives after its last write: a node whose
	// process dies is gone within it. At least 1s and two heartbeats;
	// rounded up to whole seconds (NATS counts them). Default 6s.
	TTL time.Duration `mapstructure:"ttl"`
	// Replicas is how many servers of a NATS cluster keep the registry's
	// bucket, from 1 to 5, when the registry creates it (kind nats).
	// Default 1; use 3 in a cluster, so that losing one server loses no
	// node.
	Replicas int `mapstructure:"replicas"`
}

// DefaultConfig returns the defaults of the section.
func DefaultConfig() Config {
	return Config{Heartbeat: DefaultHeartbeat, TTL: DefaultTTL, Replicas: 1}
}

// Validate checks the section, with keys relative to it.
func (c *Config) Validate() error {
	var errs []error
	if c.Kind != "" && !validName(c.Kind, 32, isEndpointByte) {
		errs = append(errs, config.Errorf("kind", "%q is not the name of a registry (memory, nats)", c.Kind))
	}
	if c.Heartbeat <= 0 {
		errs = append(errs, config.Errorf("heartbeat", "must be positive, got %v", c.Heartbeat))
	}
	switch {
	case c.TTL < time.Second:
		errs = append(errs, config.Errorf("ttl", "must be at least 1s, got %v", c.TTL))
	case c.Heartbeat > 0 && c.TTL < 2*c.Heartbeat:
		errs = append(errs, config.Errorf("ttl", "must be at least two heartbeats (%v), got %v: one late heartbeat would drop a live node", 2*c.Heartbeat, c.TTL))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, config.Errorf("replicas", "must be from 1 to 5, got %d", c.Replicas))
	}
	return errors.Join(errs...)
}

// Normalize returns cfg with its zero fields set to the defaults (a TTL
// of three heartbeats, at least [DefaultTTL]) and its TTL rounded up to
// whole seconds, or the error of [Config.Validate] with the section's
// keys. Implementations call it on the configuration they are given, so
// that they all apply the same model.
func Normalize(cfg Config) (Config, error) {
	d := DefaultConfig()
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = d.Heartbeat
	}
	if cfg.TTL == 0 {
		cfg.TTL = max(d.TTL, 3*cfg.Heartbeat)
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = d.Replicas
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, config.Under("registry", err)
	}
	if r := cfg.TTL % time.Second; r != 0 {
		cfg.TTL += time.Second - r
	}
	return cfg, nil
}

// Factory makes a registry of one kind from the application's
// configuration section, without I/O. engine is the application's engine
// (transport.Host.Engine, such as an *engine.Engine), or nil when it has
// none; a kind that needs one says so in its error.
type Factory func(cfg Config, engine any, logger *zap.Logger) (Registry, error)

// factories are the registered kinds.
var factories kinds.Registry[Factory]

// RegisterKind makes f build the registries of kind (registry.kind). It is
// meant for init functions — package registry/natsregistry registers
// "nats" — and panics when kind is empty, f is nil, or kind is registered
// already. This package registers "memory".
func RegisterKind(kind string, f Factory) {
	if kind == "" || f == nil {
		panic("registry: RegisterKind needs a kind and a factory")
	}
	if _, added := factories.Add(kind, f); !added {
		panic("registry: kind " + kind + " registered twice")
	}
}

// FactoryOf returns the factory registered for kind.
func FactoryOf(kind string) (Factory, bool) { return factories.Lookup(kind) }

// Kinds returns the registered kinds, sorted.
func Kinds() []string { return factories.Kinds() }
