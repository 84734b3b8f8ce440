package sqlstore

import (
	"context"
	"fmt"
)

// migrationLock is the key of the PostgreSQL advisory lock under which
// stores create and upgrade their tables, one at a time ("wegostor").
const migrationLock int64 = 0x7765676f73746f72

// schemaError is the error of a table whose schema version this package
// does not know.
type schemaError struct {
	table   string
	version int64
	known   int
}

func (e *schemaError) Error() string {
	return fmt.Sprintf("sqlstore: table %q has schema version %d, which this program does not know (it knows 1 to %d): "+
		"run a program with a newer WeGO, or give the store another table (store.name)", e.table, e.version, e.known)
}

// migrate creates the shared tables and the store's table when they do
// not exist, and upgrades them, in one transaction that stores of other
// processes wait for (SQLite's write lock, a PostgreSQL advisory lock).
// Each table's version is its row of wego_store_tables: the store's name,
// or "" for the shared tables.
func (s *Store) migrate(ctx context.Context) error {
	return s.x.tx(ctx, false, func(q querier) error {
		if s.dialect == Postgres {
			if err := q.exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
				return err
			}
		}
		if err := q.exec(ctx, s.dialect.createTablesTable()); err != nil {
			return err
		}
		if err := s.upgrade(ctx, q, "", changesTable, sharedVersion, s.dialect.sharedMigrations()); err != nil {
			return err
		}
		return s.upgrade(ctx, q, s.name, s.name, schemaVersion, s.dialect.migrations(s.name))
	})
}

// upgrade brings the table whose row of wego_store_tables is key from its
// version to want, with steps[i] going from version i to i+1.
func (s *Store) upgrade(ctx context.Context, q querier, key, table string, want int, steps [][]string) error {
	version := int64(-1)
	err := q.queryRow(ctx, s.param("SELECT version FROM "+tablesTable+" WHERE name = $1"), key).Scan(&version)
	if err != nil && !s.x.isNoRows(err) {
		return err
	}
	if version == int64(want) {
		return nil
	}
	if version > int64(want) || version == 0 || version < -1 {
		return &schemaError{table: table, version: version, known: want}
	}
	from := max(version, 0)
	for v := from; v < int64(want); v++ {
		for _, stmt := range steps[v] {
			if err := q.exec(ctx, stmt); err != nil {
				return fmt.Errorf("upgrade %q from version %d: %w", table, v, err)
			}
		}
	}
	if version < 0 {
		return q.exec(ctx, s.param("INSERT INTO "+tablesTable+" (name, version) VALUES ($1, $2)"), key, want)
	}
	return q.exec(ctx, s.param("UPDATE "+tablesTable+" SET version = $2 WHERE name = $1"), key, want)
}

// param rewrites the placeholders of query for the store's dialect.
func (s *Store) param(query string) string {
	if s.dialect == SQLite {
		return numbered.ReplaceAllString(query, "?$1")
	}
	return query
}
