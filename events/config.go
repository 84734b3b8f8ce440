package events

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
)

// Section is the name of the configuration section of events.
const Section = "events"

// Config is the configuration section "events": which backend carries the
// application's events, and the defaults of its subscribers.
//
//	events:
//	  backend: memory        # memory (default), nats or jetstream
//	  max_bytes: 1048576
//	  concurrency: 4
//	  retry: {max_deliveries: 5, min_backoff: 1s, max_backoff: 1m}
//	  memory: {queue_size: 1024, synchronous: false}
type Config struct {
	// Backend is the kind of backend: "memory" (the default: this process
	// only), "nats" (NATS core, at most once) or "jetstream" (at least
	// once, durable). A kind other than memory needs its package imported
	// (events/natsevents) and the NATS engine.
	Backend string `mapstructure:"backend"`
	// MaxBytes is the largest encoded event, published or received.
	// Default 1 MiB (NATS's default largest message).
	MaxBytes int `mapstructure:"max_bytes"`
	// Concurrency is the default of how many deliveries to one
	// subscription run at once in this process. Default 4.
	Concurrency int `mapstructure:"concurrency"`
	// Retry is the default retry policy of subscribers.
	Retry RetryConfig `mapstructure:"retry"`
	// Memory configures the in-process backend.
	Memory MemoryConfig `mapstructure:"memory"`
}

// RetryConfig is the retry policy of subscribers that set none of their
// own (see [RetryPolicy]).
type RetryConfig struct {
	// MaxDeliveries is the most deliveries of a failing message, the first
	// included. Default 5.
	MaxDeliveries int `mapstructure:"max_deliveries"`
	// MinBackoff is the wait after the first failure. Default 1s.
	MinBackoff time.Duration `mapstructure:"min_backoff"`
	// MaxBackoff caps the wait, which doubles after each failure. Default
	// 1m.
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
}

// Policy returns the configuration as a [RetryPolicy].
func (c RetryConfig) Policy() RetryPolicy {
	return RetryPolicy(c)
}

// MemoryConfig configures the in-process backend ([Memory]).
type MemoryConfig struct {
	// QueueSize is how many deliveries each subscription queues; a
	// publisher waits while a queue it fills is full. Default 1024.
	QueueSize int `mapstructure:"queue_size"`
	// Synchronous delivers in Publish, in the publisher's goroutine, for
	// tests: see [Memory].
	Synchronous bool `mapstructure:"synchronous"`
}

// DefaultConfig returns the defaults of the section.
func DefaultConfig() Config {
	return Config{
		Backend:     "memory",
		MaxBytes:    1 << 20,
		Concurrency: 4,
		Retry:       RetryConfig{MaxDeliveries: 5, MinBackoff: time.Second, MaxBackoff: time.Minute},
		Memory:      MemoryConfig{QueueSize: 1024},
	}
}

// Validate checks the section, with keys relative to it. It checks what
// every backend shares; a factory checks what its kind needs.
func (c *Config) Validate() error {
	var errs []error
	if !validKind(c.Backend) {
		errs = append(errs, config.Errorf("backend", "%q is not the name of an events backend (memory, nats, jetstream)", c.Backend))
	}
	if c.MaxBytes < 1 || c.MaxBytes > 64<<20 {
		errs = append(errs, config.Errorf("max_bytes", "must be from 1 to 67108864 (64 MiB), got %d", c.MaxBytes))
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		errs = append(errs, config.Errorf("concurrency", "must be from 1 to 10000, got %d", c.Concurrency))
	}
	if err := c.Retry.validate(); err != nil {
		errs = append(errs, config.Under("retry", err))
	}
	if c.Memory.QueueSize < 1 || c.Memory.QueueSize > 1<<20 {
		errs = append(errs, config.Errorf("memory.queue_size", "must be from 1 to 1048576, got %d", c.Memory.QueueSize))
	}
	return errors.Join(errs...)
}

func (c RetryConfig) validate() error {
	var errs []error
	if c.MaxDeliveries < 1 || c.MaxDeliveries > 10000 {
		errs = append(errs, config.Errorf("max_deliveries", "must be from 1 to 10000, got %d", c.MaxDeliveries))
	}
	if c.MinBackoff < time.Millisecond {
		errs = append(errs, config.Errorf("min_backoff", "must be at least 1ms, got %v", c.MinBackoff))
	}
	if c.MaxBackoff < c.MinBackoff {
		errs = append(errs, config.Errorf("max_backoff", "must be at least min_backoff (%v), got %v", c.MinBackoff, c.MaxBackoff))
	}
	return errors.Join(errs...)
}

func validKind(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Factory makes a backend of one kind from the application's events
// section, which has passed [Config.Validate], without I/O. engine is the
// application's NATS engine (an *engine.Engine), or nil when it has none;
// a kind that needs one says so in its error.
type Factory func(cfg Config, engine any, logger *zap.Logger) (Backend, error)

var kinds struct {
	sync.RWMutex
	m map[string]Factory
}

// RegisterKind makes f build the backends of kind, for the events
// section's backend key. It is meant for init functions of backend
// packages, and panics when kind is not a valid name, f is nil, or kind
// is registered already.
func RegisterKind(kind string, f Factory) {
	if !validKind(kind) || f == nil {
		panic("events: RegisterKind needs a kind of lower-case letters, digits, - and _, and a factory")
	}
	kinds.Lock()
	defer kinds.Unlock()
	if _, dup := kinds.m[kind]; dup {
		panic("events: backend kind " + kind + " registered twice")
	}
	if kinds.m == nil {
		kinds.m = make(map[string]Factory)
	}
	kinds.m[kind] = f
}

// FactoryOf returns the factory registered for kind.
func FactoryOf(kind string) (Factory, bool) {
	kinds.RLock()
	defer kinds.RUnlock()
	f, ok := kinds.m[kind]
	return f, ok
}

// Kinds returns the registered kinds, sorted.
func Kinds() []string {
	kinds.RLock()
	defer kinds.RUnlock()
	return slices.Sorted(maps.Keys(kinds.m))
}

func init() {
	RegisterKind("memory", func(cfg Config, _ any, _ *zap.Logger) (Backend, error) {
		return NewMemory(cfg.Memory), nil
	})
}
