package sqlstore

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/store"
)

// The kinds "sqlite" and "postgres" of store.kind. Their stores implement
// [store.Starter]: they connect to the database and create their tables
// when the application starts them. Their configuration errors name the
// keys of the section (path, dsn, name), which the application puts
// under "store".
func init() {
	store.RegisterKind(string(SQLite), func(cfg store.Config, _ any, logger *zap.Logger) (store.Store, error) {
		if cfg.Path == "" {
			return nil, config.Errorf("path", "store.kind sqlite needs the path of its database file")
		}
		if err := checkName(SQLite, nameOf(cfg)); err != nil {
			return nil, config.Errorf("name", "%q %v", nameOf(cfg), err)
		}
		s, err := newStore(SQLite, cfg.Path, nil, Options{Name: cfg.Name, Logger: logger})
		if err != nil {
			return nil, config.Errorf("path", "%v", err)
		}
		return s, nil
	})
	store.RegisterKind(string(Postgres), func(cfg store.Config, _ any, logger *zap.Logger) (store.Store, error) {
		if cfg.DSN == "" {
			return nil, config.Errorf("dsn", "store.kind postgres needs the connection string of its database, such as postgres://user@127.0.0.1:5432/db?sslmode=disable")
		}
		if _, err := pgxpool.ParseConfig(cfg.DSN); err != nil {
			return nil, config.Errorf("dsn", "is not a PostgreSQL connection string: %v", err)
		}
		if err := checkName(Postgres, nameOf(cfg)); err != nil {
			return nil, config.Errorf("name", "%q %v", nameOf(cfg), err)
		}
		s, err := newStore(Postgres, cfg.DSN, nil, Options{Name: cfg.Name, Logger: logger})
		if err != nil {
			return nil, config.Errorf("dsn", "%v", err)
		}
		return s, nil
	})
}

// nameOf is the table name of cfg, the default when it has none.
func nameOf(cfg store.Config) string {
	if cfg.Name == "" {
		return defaultName
	}
	return cfg.Name
}
