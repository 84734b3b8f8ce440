// Package storebench holds the benchmarks of package store's backends:
// each reads and writes one record through the store and through the bare
// library it wraps, on the same database or server in the same run, so
// that the ratio of the two is the store's own cost: nats_test.go on NATS
// key-value against nats.go's KeyValue, sqlite_test.go package
// store/sqlstore on SQLite against database/sql on modernc.org/sqlite,
// postgres_test.go on PostgreSQL against a pgx pool, and lock_test.go a
// lock's acquisition and release (package lock) on NATS key-value against
// a bare Create and Delete. Run them with
//
//	go test -run '^$' -bench . -benchmem -count 6 ./storebench
//	go test -run 'SQLiteOverhead|PostgresOverhead' -v ./storebench
//
// The package's tests check the allocations of each pair, which do not
// depend on the machine's load.
package storebench
