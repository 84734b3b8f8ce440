package store

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/internal/kinds"
)

// Config is the configuration section "store": which backend keeps the
// application's records, and where.
type Config struct {
	// Kind is the backend: "memory" (the default: this process only,
	// lost when it ends), "bbolt" (a file on this host), "sqlite" (a
	// file on this host), "postgres" (a PostgreSQL database) or "nats"
	// (a key-value bucket of the NATS engine's JetStream). A kind other
	// than memory needs its package imported (store/boltstore,
	// store/sqlstore, store/natsstore).
	Kind string `mapstructure:"kind"`
	// Path is the file of the bbolt and sqlite kinds. A relative path is
	// taken from the working directory.
	Path string `mapstructure:"path"`
	// DSN is the PostgreSQL connection string of the postgres kind, such
	// as "postgres://user@127.0.0.1:5432/db?sslmode=disable".
	DSN string `mapstructure:"dsn"`
	// Name is the bucket (bbolt, nats) or table (sqlite, postgres) that
	// holds the records. Default "wego".
	Name string `mapstructure:"name"`
	// Replicas is how many servers of a NATS cluster keep the bucket,
	// from 1 to 5, when the store creates it (kind nats). Default 1; use
	// 3 in a cluster.
	Replicas int `mapstructure:"replicas"`
}

// DefaultConfig returns the defaults of the section.
func DefaultConfig() Config { return Config{Kind: "memory", Name: "wego", Replicas: 1} }

// Validate checks the section, with keys relative to it. It checks what
// every kind shares; a factory checks what its kind needs (a path, a
// DSN) and says so with the section's keys.
func (c *Config) Validate() error {
	var errs []error
	if !validName(c.Kind) {
		errs = append(errs, config.Errorf("kind", "%q is not the name of a store kind (memory, bbolt, sqlite, postgres, nats)", c.Kind))
	}
	if !validName(c.Name) {
		errs = append(errs, config.Errorf("name", "%q is not a valid name: use 1 to 64 letters, digits, - and _", c.Name))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, config.Errorf("replicas", "must be from 1 to 5, got %d", c.Replicas))
	}
	return errors.Join(errs...)
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Factory opens a store of one kind from the application's configuration
// section, which has passed [Config.Validate]. engine is the
// application's NATS engine (such as an *engine.Engine), or nil when it
// has none; a kind that needs one says so in its error. A store that
// needs the engine started before it works implements [Starter].
type Factory func(cfg Config, engine any, logger *zap.Logger) (Store, error)

// Starter is implemented by stores that do I/O before they work, such as
// a NATS store, which needs its engine started first. An application
// opens its store when it is built and starts it after its engine and
// before its transports.
type Starter interface {
	// Start connects the store to its backend and returns once it works,
	// or with an error. Later calls return the first one's result.
	Start(ctx context.Context) error
}

// factories are the registered kinds.
var factories kinds.Registry[Factory]

// RegisterKind makes f open the stores of kind (store.kind). It is meant
// for init functions — package store/natsstore registers "nats" — and
// panics when kind is empty, f is nil, or kind is registered already.
// This package registers "memory".
func RegisterKind(kind string, f Factory) {
	if kind == "" || f == nil {
		panic("store: RegisterKind needs a kind and a factory")
	}
	if _, added := factories.Add(kind, f); !added {
		panic("store: kind " + kind + " registered twice")
	}
}

// FactoryOf returns the factory registered for kind.
func FactoryOf(kind string) (Factory, bool) { return factories.Lookup(kind) }

// Kinds returns the registered kinds, sorted.
func Kinds() []string { return factories.Kinds() }
