package events

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/internal/kinds"
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
//	  jetstream: {replicas: 1, storage: file, max_age: 168h, ack_wait: 30s}
type Config struct {
	// Backend is the kind of backend: "memory" (the default: this process
	// only), "nats" (NATS core, at most once) or "jetstream" (at least
	// once, durable). A kind other than memory needs its package imported
	// (events/natsevents, events/jsevents) and the NATS engine.
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
	// JetStream configures the JetStream backend (package
	// events/jsevents): its streams, consumers, publishing and dead
	// letters.
	JetStream JetStreamConfig `mapstructure:"jetstream"`
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

// JetStreamConfig configures the JetStream backend (package
// events/jsevents). Each topic is stored in a stream of its own, named
// StreamPrefix followed by the topic's name with '_' for '.'
// ("EVENTS_orders_OrderPlaced"), whose one subject is the topic; each
// subscriber group reads it through a durable consumer named after the
// group. The backend creates what is missing and updates the settings
// below where they differ (see the package's documentation).
type JetStreamConfig struct {
	// StreamPrefix starts the name of each topic's stream. Default
	// "EVENTS_".
	StreamPrefix string `mapstructure:"stream_prefix"`
	// Replicas is how many servers of a cluster store each stream, from 1
	// to 5. Default 1.
	Replicas int `mapstructure:"replicas"`
	// Storage is where the servers keep the streams: "file" (the
	// default; survives a restart) or "memory".
	Storage string `mapstructure:"storage"`
	// MaxAge is how long a stream keeps an event, delivered or not; 0
	// keeps events until MaxBytes removes them. It bounds replay, and how
	// long a subscriber group may be away without missing events.
	// Default 168h (7 days).
	MaxAge time.Duration `mapstructure:"max_age"`
	// MaxBytes caps each stream's size; the oldest events go first. 0
	// (the default) sets no cap.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// DuplicateWindow is how long a stream remembers message ids
	// ([MessageID]) to drop a duplicate publish; at most MaxAge. Default
	// 2m.
	DuplicateWindow time.Duration `mapstructure:"duplicate_window"`
	// AckWait is how long the server waits for a delivery's outcome
	// before it delivers the event again, to any member of the group: it
	// must exceed twice the subscriber's longest delivery (an event
	// pulled ahead may wait for about one delivery). Default 30s.
	AckWait time.Duration `mapstructure:"ack_wait"`
	// MaxAckPending is the most events a group holds delivered and not
	// yet settled, across its replicas: it bounds the duplicates a crash
	// causes. Default 1000.
	MaxAckPending int `mapstructure:"max_ack_pending"`
	// AckBackoff, when set, replaces AckWait for the redeliveries after
	// an unanswered delivery: the n-th waits AckBackoff[n-1] (the last
	// one repeats). Default none.
	AckBackoff []time.Duration `mapstructure:"ack_backoff"`
	// Async publishes without waiting for the stream's acknowledgement:
	// Publish returns once the event is written to the connection, and a
	// failure to store it is logged, not returned. Default false: Publish
	// returns once the stream has stored the event.
	Async bool `mapstructure:"async"`
	// AsyncMaxPending is the most asynchronous publishes awaiting their
	// acknowledgement; a publisher waits while there are that many.
	// Default 4000.
	AsyncMaxPending int `mapstructure:"async_max_pending"`
	// DeadLetterStream names the stream that keeps dead letters. Default
	// "WEGO_DLQ".
	DeadLetterStream string `mapstructure:"dead_letter_stream"`
	// DeadLetterSubject starts the subject of each dead letter, which
	// ends with its subscriber group ("$WEGO.DLQ.shipping.OnOrderPlaced").
	// Default "$WEGO.DLQ".
	DeadLetterSubject string `mapstructure:"dead_letter_subject"`
	// DeadLetterMaxAge is how long the dead-letter stream keeps a
	// record; 0 keeps them until deleted. Default 720h (30 days).
	DeadLetterMaxAge time.Duration `mapstructure:"dead_letter_max_age"`
}

// DefaultConfig returns the defaults of the section.
func DefaultConfig() Config {
	return Config{
		Backend:     "memory",
		MaxBytes:    1 << 20,
		Concurrency: 4,
		Retry:       RetryConfig{MaxDeliveries: 5, MinBackoff: time.Second, MaxBackoff: time.Minute},
		Memory:      MemoryConfig{QueueSize: 1024},
		JetStream: JetStreamConfig{
			StreamPrefix: "EVENTS_", Replicas: 1, Storage: "file", MaxAge: 7 * 24 * time.Hour,
			DuplicateWindow: 2 * time.Minute, AckWait: 30 * time.Second, MaxAckPending: 1000,
			AsyncMaxPending: 4000, DeadLetterStream: "WEGO_DLQ", DeadLetterSubject: "$WEGO.DLQ",
			DeadLetterMaxAge: 30 * 24 * time.Hour,
		},
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
	if err := c.JetStream.validate(); err != nil {
		errs = append(errs, config.Under("jetstream", err))
	}
	return errors.Join(errs...)
}

func (c *JetStreamConfig) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, config.Errorf(key, format, args...)) }
	if !validName(c.StreamPrefix, 200) {
		bad("stream_prefix", "%q is not the start of a stream name: letters, digits, '_' and '-', at most 200 bytes", c.StreamPrefix)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		bad("replicas", "must be from 1 to 5, got %d", c.Replicas)
	}
	if c.Storage != "file" && c.Storage != "memory" {
		bad("storage", "must be file or memory, got %q", c.Storage)
	}
	if c.MaxAge < 0 {
		bad("max_age", "must not be negative, got %v", c.MaxAge)
	}
	if c.MaxBytes < 0 {
		bad("max_bytes", "must not be negative, got %d", c.MaxBytes)
	}
	if c.DuplicateWindow < time.Millisecond || c.MaxAge > 0 && c.DuplicateWindow > c.MaxAge {
		bad("duplicate_window", "must be from 1ms to max_age (%v), got %v", c.MaxAge, c.DuplicateWindow)
	}
	if c.AckWait < time.Millisecond {
		bad("ack_wait", "must be at least 1ms, got %v", c.AckWait)
	}
	if c.MaxAckPending < 1 || c.MaxAckPending > 1<<20 {
		bad("max_ack_pending", "must be from 1 to 1048576, got %d", c.MaxAckPending)
	}
	for i, d := range c.AckBackoff {
		if d < time.Millisecond {
			bad(fmt.Sprintf("ack_backoff[%d]", i), "must be at least 1ms, got %v", d)
		}
	}
	if c.AsyncMaxPending < 1 || c.AsyncMaxPending > 1<<20 {
		bad("async_max_pending", "must be from 1 to 1048576, got %d", c.AsyncMaxPending)
	}
	if !validName(c.DeadLetterStream, 255) {
		bad("dead_letter_stream", "%q is not a stream name: letters, digits, '_' and '-', at most 255 bytes", c.DeadLetterStream)
	}
	if !validSubject(c.DeadLetterSubject) {
		bad("dead_letter_subject", "%q is not a subject without wildcards: dot-separated parts, no space", c.DeadLetterSubject)
	}
	if c.DeadLetterMaxAge < 0 {
		bad("dead_letter_max_age", "must not be negative, got %v", c.DeadLetterMaxAge)
	}
	return errors.Join(errs...)
}

// validName reports whether s is a non-empty name of ASCII letters,
// digits, '_' and '-' of at most n bytes: a JetStream stream name.
func validName(s string, n int) bool {
	if s == "" || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validSubject reports whether s is a NATS subject without wildcards:
// non-empty dot-separated parts of printable ASCII other than '*' and
// '>', at most 255 bytes.
func validSubject(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || part == "*" || part == ">" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if c := part[i]; c <= ' ' || c >= 0x7f || c == '*' || c == '>' {
				return false
			}
		}
	}
	return true
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

// factories are the registered kinds.
var factories kinds.Registry[Factory]

// RegisterKind makes f build the backends of kind, for the events
// section's backend key. It is meant for init functions of backend
// packages, and panics when kind is not a valid name, f is nil, or kind
// is registered already.
func RegisterKind(kind string, f Factory) {
	if !validKind(kind) || f == nil {
		panic("events: RegisterKind needs a kind of lower-case letters, digits, - and _, and a factory")
	}
	if _, added := factories.Add(kind, f); !added {
		panic("events: backend kind " + kind + " registered twice")
	}
}

// FactoryOf returns the factory registered for kind.
func FactoryOf(kind string) (Factory, bool) { return factories.Lookup(kind) }

// Kinds returns the registered kinds, sorted.
func Kinds() []string { return factories.Kinds() }

func init() {
	RegisterKind("memory", func(cfg Config, _ any, _ *zap.Logger) (Backend, error) {
		return NewMemory(cfg.Memory), nil
	})
}
