// Package storebench holds the benchmarks of package store's backends and
// of package lock: each reads and writes one record through the store and
// through the bare library it wraps (bbolt's View and Update, database/sql
// on modernc.org/sqlite, a pgx pool, nats.go's KeyValue), on the same
// database or server in the same run, so that the ratio of the two is the
// store's own cost; BenchmarkMemoryGet reads the in-process store, and
// BenchmarkLock takes and releases a lock on NATS key-value beside the
// bare Create and Delete it stands for. Run them with
//
//	go test -run '^$' -bench . -benchmem -count 6 ./storebench
//
// Command benchreport runs them in interleaved repetitions (the
// environment variable WEGO_BENCH_ORDER=reverse runs the store's side of
// each pair first) and reports the medians of the ratios within each
// repetition beside the targets, in docs/performance.md. The
// package's tests check only what the machine's load does not move: the
// allocations of each pair, and the results of the operations.
//
// PostgreSQL's benchmarks and tests run on the server that
// WEGO_TEST_POSTGRES_DSN names, or else on a throwaway server started
// from the machine's PostgreSQL binaries; without either they skip (see
// package internal/pgtest).
package storebench
