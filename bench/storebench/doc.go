// Package storebench measures the store backends against their bare
// libraries, the same operation both ways in the same run: sqlite_test.go
// compares package store/sqlstore on SQLite with database/sql on
// modernc.org/sqlite, postgres_test.go on PostgreSQL with a pgx pool.
//
//	go test -run '^$' -bench 'SQLite|Postgres' -benchmem ./storebench
//	go test -run 'SQLiteOverhead|PostgresOverhead' -v ./storebench
package storebench
